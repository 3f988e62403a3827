"""All benchmarks (`make bench`)."""

from bench import tiles

if __name__ == "__main__":
    tiles.main()
