"""Rounds filled in and signed without a network (离线巡检): the round page keeps working once
opened (a service worker caches it), queues what is typed, the photos taken and the signature
in the tablet's IndexedDB, and sends them when the connection returns; the server stores the
round once, with the time it was signed on the tablet and the time it arrived, and answers a
round someone else signed meanwhile as a conflict, never overwriting either.

The parts, one concept each: ``tables`` (the submissions in the store and the database rules),
``service`` (what a submission must be to be taken: whose, which key, which times, which
photos) and ``web`` (the sync endpoint, the page's script and the service worker).

This module imports nothing, so the store can build on ``tables`` without a cycle.
"""
