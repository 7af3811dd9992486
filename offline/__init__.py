"""The offline stack: moto stands in for AWS, a simulator plays SageMaker Autopilot.

Each module documents its own API; ``offline.autopilot_simulator`` holds
``AutopilotSimulator`` (realistic AutoML job lives and candidates on moto, plus
``ListCandidatesForAutoMLJob`` and fault injection).

Nothing is imported here on purpose: importing moto costs ~300 ms, so importing the package
stays cheap.
"""
