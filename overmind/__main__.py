from overmind.cli import main

main()
