"""The callback stage: writing the ERP's order number and status back to the Opportunity.

The order stage hands each completed order to a :class:`~.job.CallbackSender`, built
once per worker process before the actors (:func:`~.modes.build_callbacks`), in one of
two ways that ``SFGW_CALLBACK_API`` chooses:

* **per record** (``rest``, or any mode with the legacy SessionId): one Dramatiq message
  on the ``callbacks`` queue per order, and the ``send_callback`` actor writes it with one
  call (:mod:`.per_record`);
* **coalesced** (``collections``, ``soap``): the record joins its org's pending set in
  Redis, and flusher threads write up to 200 of them with one call (:mod:`.coalescer`,
  :mod:`.flushers`).

Either way each record is settled on its own, by the one retry rule in
:func:`gateway.pipeline.policy.decide`: saved, retried later, or a dead letter with its
own reason.
"""
