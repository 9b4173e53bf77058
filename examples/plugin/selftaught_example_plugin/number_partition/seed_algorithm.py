def algorithm(numbers):
    """Put the numbers on alternate sides, in the order given."""
    return [i % 2 for i in range(len(numbers))]
