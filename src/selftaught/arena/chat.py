"""What the gateway accepts and answers: OpenAI chat-completion bodies, parsed strictly.

A client's body is untrusted text: it is parsed into a `ChatRequest` (system text, user
text, sample count, temperature) or refused with a one-line reason (HTTP 400). Messages
after the system ones become one user text: a single message as it is, several as
`role: content` blocks, so a multi-turn request still names one cache position.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

DEFAULT_TEMPERATURE = 1.0  # OpenAI's default when a request names none


class ChatRequestError(ValueError):
    """A body that is not a chat-completion request the gateway can serve."""


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    n: int
    temperature: float
    model: str


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: only text parts are served
        texts = []
        for part in value:
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                raise ChatRequestError(f"{where}: only text content parts are served")
            texts.append(part["text"])
        return "".join(texts)
    if value is None:
        return ""
    raise ChatRequestError(f"{where}: content must be a string or a list of text parts")


def parse_chat_request(body: bytes) -> ChatRequest:
    """The request in `body`, or ChatRequestError saying what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChatRequestError(f"the body is not JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ChatRequestError("the body must be a JSON object")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatRequestError("'messages' must be a non-empty list")
    system_parts: list[str] = []
    turns: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ChatRequestError(f"messages[{index}] must be an object")
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant"):
            raise ChatRequestError(f"messages[{index}]: unsupported role {str(role)[:40]!r}")
        text = _content(message.get("content"), f"messages[{index}]")
        if role in ("system", "developer") and not turns:
            system_parts.append(text)
        else:
            turns.append((role, text))
    if not turns:
        raise ChatRequestError("the request has no user message")
    user = turns[0][1] if len(turns) == 1 else "\n\n".join(f"{role}: {text}" for role, text in turns)
    n = data.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ChatRequestError("'n' must be a positive integer")
    temperature = data.get("temperature", DEFAULT_TEMPERATURE)
    if temperature is None:
        temperature = DEFAULT_TEMPERATURE
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ChatRequestError("'temperature' must be a number")
    if data.get("stream"):
        raise ChatRequestError("streamed responses are not served; ask with stream=false")
    model = data.get("model")
    return ChatRequest(
        "\n\n".join(system_parts), user, n, float(temperature), model if isinstance(model, str) else ""
    )


def chat_response(
    answers: list[str], model: str, prompt_tokens: int | None, completion_tokens: int | None
) -> dict[str, Any]:
    """An OpenAI chat-completion object holding `answers` as its choices."""
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            for i, text in enumerate(answers)
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error object (clients show `error.message`)."""
    return {"error": {"message": message, "type": kind, "code": code or kind, "param": None}}
