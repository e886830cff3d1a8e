"""Running crewAI inside novelcrew, through crewAI's public API.

- ``env``: crewAI's environment (telemetry and tracing off, storage under the data directory),
  set before crewAI is first imported; importing this package does not import crewAI.
- ``kickoff``: a crew's kickoff in a worker thread, its task events routed to the job.
- ``yaml_config``: a plugin's ``config/agents.yaml`` and ``tasks.yaml``, checked and
  overridable, for crews built per step (public: plugins use it).
- ``compat``: the few correctness shims that reach into crewAI, each guarded by a test that
  fails when a crewAI release changes what it relies on.
"""
