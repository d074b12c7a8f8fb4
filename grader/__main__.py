"""`python -m grader`: the same as the `grade` command."""

from grader.cli import entry

if __name__ == "__main__":
    entry()
