import random
import time

import numpy as np


def utility(algorithm_str: str):
    """
    Scores a Max-Cut algorithm: the weight of the cut it finds divided by the total edge
    weight of the graph, averaged over random graphs.
    Your function must be named 'algorithm' and take one argument, adjacency_matrix: a
    symmetric n x n numpy array of edge weights (0 means no edge). It must return a partition:
    a list of n labels, each 0 or 1. A partition of the wrong length scores 0.
    If the algorithm takes more than 100 milliseconds on a graph, it is a failure.
    """
    n_tests = 100
    total_score = 0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        n_nodes = random.randint(50, 200)
        adjacency_matrix = np.zeros((n_nodes, n_nodes))
        for i in range(n_nodes):
            for j in range(i + 1, n_nodes):
                if random.random() < 0.4:
                    weight = random.randint(1, 10)
                    adjacency_matrix[i, j] = adjacency_matrix[j, i] = weight
        total_weight = adjacency_matrix.sum() / 2

        start_time = time.time()
        try:
            partition = list(algorithm(adjacency_matrix.copy()))
        except Exception:
            continue
        if time.time() - start_time > 0.1:
            continue  # over the time limit
        if len(partition) != n_nodes or any(label not in (0, 1) for label in partition):
            continue
        cut_weight = sum(
            adjacency_matrix[i, j]
            for i in range(n_nodes)
            for j in range(i + 1, n_nodes)
            if partition[i] != partition[j]
        )
        total_score += cut_weight / total_weight
    return total_score / n_tests
