"""Drives Tome's OpenAI-compatible API with the official `openai` package.

Reads OPENAI_BASE_URL and OPENAI_API_KEY (the client's own variables), asserts what an
outside tool relies on, and prints one JSON summary line for the Rust test to check.
Exits non-zero on the first failed expectation.
"""

import json
import sys

import openai

client = openai.OpenAI(max_retries=0, timeout=30)
summary = {}

models = [model.id for model in client.models.list()]
summary["models"] = models

question = [{"role": "user", "content": "What does the first stage burn?"}]

completion = client.chat.completions.create(model="stub-model", messages=question)
answer = completion.choices[0].message.content
assert completion.object == "chat.completion", completion
assert completion.choices[0].finish_reason == "stop", completion
assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
citations = completion.model_extra["citations"]
summary["answer"] = answer
summary["citations"] = [(c["number"], c["document_name"], c["cited"]) for c in citations]
summary["usage"] = [completion.usage.prompt_tokens, completion.usage.completion_tokens]

streamed, chunks, streamed_usage, stream_citations = "", 0, None, None
with client.chat.completions.create(
    model="stub-model", messages=question, stream=True, stream_options={"include_usage": True}
) as stream:
    for chunk in stream:
        chunks += 1
        if chunk.usage is not None:
            streamed_usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
        extra = chunk.model_extra or {}
        if "citations" in extra:
            stream_citations = extra["citations"]
        for choice in chunk.choices:
            streamed += choice.delta.content or ""
summary["streamed"] = streamed
summary["stream_chunks"] = chunks
summary["stream_usage"] = streamed_usage
summary["stream_cited"] = [c["number"] for c in stream_citations or [] if c["cited"]]

persona = client.chat.completions.create(model="rocket-guide", messages=question)
summary["persona_answer"] = persona.choices[0].message.content

vectors = client.embeddings.create(model="all-MiniLM-L6-v2", input=["kerosene", "liquid hydrogen"])
summary["embeddings"] = [len(item.embedding) for item in vectors.data]

try:
    client.chat.completions.create(model="no-such-model", messages=question)
    summary["unknown_model"] = "accepted"
except openai.APIStatusError as error:
    summary["unknown_model"] = error.status_code

try:
    openai.OpenAI(api_key="tome_wrong_key", max_retries=0).models.list()
    summary["bad_key"] = "accepted"
except openai.AuthenticationError as error:
    summary["bad_key"] = error.status_code

print(json.dumps(summary))
sys.stdout.flush()
