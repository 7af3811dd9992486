"""Autopilot Flow core library: manifest model, validation, policy and the CLI.

Everything a Lambda handler, the CLI or a test needs to turn a manifest into a
``CreateAutoMLJobV2`` request lives here; AWS calls go through small adapters that take a
boto3 client.
"""

__version__ = "0.1.0"
