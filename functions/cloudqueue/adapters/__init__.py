"""Adapters from the ports in ``cloudqueue.ports`` to AWS. The only modules that import boto3."""
