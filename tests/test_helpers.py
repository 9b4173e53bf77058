from selftaught.inside.helpers import extract_code

IMPROVER_ANSWER = '''Idea: sample more.

```python
from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    message = f"""Improve:
```python
{initial_solution}
```
"""
    return initial_solution
```

Short extra:
```python
x = 1
```
'''


def test_largest_block_is_returned_without_fences():
    answer = "text\n```python\na = 1\n```\nmore\n```python\nb = 2\nc = 3\n```\n"
    assert extract_code(answer) == "b = 2\nc = 3"


def test_nested_fences_inside_an_improver_are_kept():
    code = extract_code(IMPROVER_ANSWER)
    assert code.startswith("from helpers import extract_code")
    assert "```python\n{initial_solution}\n```" in code
    assert code.rstrip().endswith("return initial_solution")
    compile(code, "<improver>", "exec")


def test_lists_and_answers_without_code():
    assert extract_code(["```python\nx = 1\n```", "no code here"]) == ["x = 1", None]
    assert extract_code(None) is None
