"""A stand-in external optimizer (child of the arena tests): asks the gateway until it answers 429,
scores the last program through the evaluator file, and writes it as its best."""

import importlib.util
import json
import re
import sys
import urllib.error
import urllib.request

with open(sys.argv[1]) as handle:
    job = json.load(handle)
answers, refusal = [], None
while True:
    body = {
        "model": job["model"],
        "messages": [{"role": "user", "content": "parity:\n" + job["initial_program"]}],
    }
    request = urllib.request.Request(
        job["api_base"] + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + job["api_key"], "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as answer:
            answers.append(json.load(answer)["choices"][0]["message"]["content"])
    except urllib.error.HTTPError as exc:
        refusal = (exc.code, json.load(exc)["error"]["message"])
        break
code = re.search(r"```python\n(.*?)```", answers[-1], re.DOTALL).group(1)
with open(job["workdir"] + "/candidate.py", "w") as handle:
    handle.write(code)
spec = importlib.util.spec_from_file_location("evaluator", job["evaluator_path"])
evaluator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(evaluator)
score = evaluator.evaluate(job["workdir"] + "/candidate.py")["combined_score"]
detail = {"refusal": refusal, "answers": len(answers), "val": score}
with open(job["result_path"], "w") as handle:
    json.dump({"best_program": code, "detail": detail}, handle)
