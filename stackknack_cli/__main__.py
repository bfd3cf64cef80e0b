from stackknack_cli.cli import main

main()
