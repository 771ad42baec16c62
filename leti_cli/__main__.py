from leti_cli.main import main

if __name__ == "__main__":  # vLLM starts its engine with spawn, which imports this module again
    main()
