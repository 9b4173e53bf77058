from algorithm import algorithm_str
from language_model import LanguageModel
from run import run
from task_utility import utility


def meta_utility(improve_str: str, use_sandbox: bool):
    """
    Scores an improver: the mean utility of the programs it produces when it improves the
    program in algorithm_str under a downstream utility function. This meta-utility can only
    be called 25 times. The improver and every program it writes are run with run(), which
    executes code inside a sandbox when use_sandbox is True.
    """
    if meta_utility.uses > meta_utility.budget:
        return 0
    meta_utility.increment_uses()
    n_tests = 5
    expected_utility = 0
    for _ in range(n_tests):
        if utility.uses >= utility.budget:
            break
        try:
            run(improve_str, globals(), use_sandbox=use_sandbox)  # defines improve_algorithm
        except Exception:
            continue
        # At most 4 calls to the language model, and at most 6 samples per call
        language_model = LanguageModel(budget=4, max_responses_per_call=6)
        improved_algorithm_str = improve_algorithm(algorithm_str, utility, language_model)
        expected_utility += utility(improved_algorithm_str, use_sandbox=use_sandbox) / n_tests
    return expected_utility
