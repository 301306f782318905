"""Adapters from the ports in ``cloudqueue.ports`` to AWS. The only modules that import boto3."""

# Each adapter builds its client from a session of its own: boto3's default session is not
# safe to build clients from in several threads at once (the local stack runs many).
