"""The kernel every service builds on.

Importing it (every handler does, before any model of a service is defined: `services/__init__.py`
imports it first) makes pydantic defer building a model's validator and serializer until the
model is first used (`defer_build`), for every model defined afterwards. A function's cold start
then builds only the models its first invocation touches instead of every model of every module
it imports: measured, the activities API's import went from ~480 to ~260 ms of CPU
(docs/decisions.md, "Cold start"). Behaviour is the same (validation, JSON schemas and the
OpenAPI documents build the model on demand), in the tests too, since they import this first.

In a Lambda function (`AWS_LAMBDA_FUNCTION_NAME` set, `kontakt dev`'s workers too) it also stops the
cyclic garbage collector while the function's modules load: each full collection walks every
object the imports made so far (botocore's, pydantic's ...), and none of them is garbage; the
collections of a cold start cost ~40-55 ms of CPU. The function's first invocation (`shared.entry`)
calls `init_done`: the objects made so far are frozen (`gc.freeze`: no collection walks them
again) and collection resumes (docs/decisions.md, "Cold start").
"""

import gc
import os

_initialising = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
if _initialising:  # before pydantic's import: its modules are the first the collector would walk
    gc.disable()

from pydantic import BaseModel  # noqa: E402

BaseModel.model_config["defer_build"] = True


def init_done() -> None:
    """The function's init is over (its first invocation starts): freeze what the imports made, collect again."""
    global _initialising
    if _initialising:
        _initialising = False
        gc.freeze()
        gc.enable()
