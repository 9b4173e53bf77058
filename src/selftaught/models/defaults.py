"""Defaults of a model request's transport, shared by the run settings and the backends that use them."""

API_KEY_ENV = "OPENAI_API_KEY"
MAX_CONCURRENCY = 16  # model requests in flight at once
REQUEST_TIMEOUT_S = 600.0  # of one model request
MAX_RETRIES = 5  # of one model request (429, 5xx, timeouts, connection resets)
