from leti_cli.main import main

main()
