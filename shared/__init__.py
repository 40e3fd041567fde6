"""The kernel every service builds on.

Importing it (every handler does, before any model of a service is defined: `services/__init__.py`
imports it first) makes pydantic defer building a model's validator and serializer until the
model is first used (`defer_build`), for every model defined afterwards. A function's cold start
then builds only the models its first invocation touches instead of every model of every module
it imports: measured, the activities API's import went from ~480 to ~260 ms of CPU
(docs/decisions.md, "Cold start"). Behaviour is the same (validation, JSON schemas and the
OpenAPI documents build the model on demand), in the tests too, since they import this first.
"""

from pydantic import BaseModel

BaseModel.model_config["defer_build"] = True
