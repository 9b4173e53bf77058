import time

import numpy as np


def utility(algorithm_str: str):
    """
    Scores a solution to learning parity with noise: the fraction of test labels
    it predicts correctly, averaged over the test problems.
    """
    n_tests = 20
    average_correct = 0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        n_bits = 10
        p_true = 0.3
        n_train_samples = 100
        n_test_samples = 20
        noise_level = 0.05
        secret_bits = np.random.binomial(1, p_true, n_bits)
        samples = np.random.binomial(1, 0.5, (n_train_samples + n_test_samples, n_bits))
        parity = (samples @ secret_bits) % 2
        train_samples, test_samples = samples[:n_train_samples], samples[n_train_samples:]
        label_noise = np.random.binomial(1, noise_level, n_train_samples)
        train_parity = (parity[:n_train_samples] + label_noise) % 2
        test_parity = parity[n_train_samples:]

        start_time = time.time()
        try:
            predictions = np.asarray(algorithm(train_samples, train_parity, test_samples)).reshape(-1)
            if predictions.shape != test_parity.shape:
                correct = 0  # predictions are compared as flat vectors of the same length
            else:
                correct = np.mean(predictions == test_parity)
        except Exception:
            correct = 0
        # Use no more than 2 seconds per test
        if time.time() - start_time > 2:
            correct = 0
        average_correct += correct / n_tests
    return average_correct
