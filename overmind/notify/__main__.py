from overmind.notify.service import main

main()
