"""Every change the local stack makes to a library's internals, in one place.

``registry`` lists each target as data and ``seams`` applies and checks them; one module per
patched part of moto (``moto_lambda``, ``moto_stepfunctions``, ``moto_sqs``, ``moto_core``,
``moto_dynamodb`` with ``moto_transactions``), ``direct_sqs`` for the pollers' calls into moto's SQS backend,
``sqs_arrivals`` for their wait on a queue's own condition (a send wakes it), and
``install.MotoPatches`` to install and remove them all together.
"""
