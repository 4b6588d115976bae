from overmind.entry import main

main()
