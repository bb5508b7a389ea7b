"""`python -m bridge …`: the command line (main.py) and its store commands (store_commands.py)."""
