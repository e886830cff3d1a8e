"""The ``arq`` backend: API instances enqueue jobs in Redis, ``novelcrew worker`` processes
(``worker.py``, on arq's ``Worker``) run them; records and event logs in Redis (``store.py``)
under the key names of ``keys.py``."""

from novelcrew.backends.arq.backend import ArqBackend, enqueue
from novelcrew.backends.arq.keys import Keys
from novelcrew.backends.arq.store import RedisStore

__all__ = ["ArqBackend", "Keys", "RedisStore", "enqueue"]
