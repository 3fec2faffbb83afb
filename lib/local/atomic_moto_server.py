"""moto server whose conditional writes are atomic, as on AWS.

Stock moto serves each request on its own thread and handles a DynamoDB conditional PutItem /
UpdateItem as read, check, write with no lock: two writers expecting the same version can both be
told "ok". Its SQS queue rebuilds its message list on DeleteMessage without the queue's lock (a
message sent meanwhile is lost) and lets two ReceiveMessage calls take the same visible message.
This entry point serves every DynamoDB request under one lock and runs those two SQS steps under the
queue's own lock, then starts moto's server with the same arguments (lib/local/moto-server.ts).

Two options of its own, before moto's: `--stock` serves moto as shipped (the race probe's baseline)
and `--switch-interval S` sets the interpreter's thread switch interval: a small one interleaves
request threads far more often than moto's default 5 ms, so a race shows up in seconds, not hours.
"""

import sys
import threading
from typing import Any, Callable, Iterable

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Queue, SQSBackend

_dynamodb = threading.Lock()


class SerialisedDynamoDB(DomainDispatcherApplication):
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                # moto builds the whole response inside the call: materialise it under the lock.
                return list(super().__call__(environ, start_response))
        return super().__call__(environ, start_response)


_delete_message = Queue.delete_message
_receive_message = SQSBackend.receive_message


def delete_message(self: Queue, receipt_handle: str) -> None:
    # The queue's Condition wraps an RLock; SendMessage appends under it.
    with self._messages_lock:
        _delete_message(self, receipt_handle)


def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    queue = self.get_queue(queue_name)
    # A long poll waits on the same Condition, which releases the lock while it waits.
    with queue._messages_lock:
        return _receive_message(self, queue_name, *args, **kwargs)


def main(argv: list[str]) -> None:
    stock = "--stock" in argv
    argv = [a for a in argv if a != "--stock"]
    if "--switch-interval" in argv:
        i = argv.index("--switch-interval")
        sys.setswitchinterval(float(argv[i + 1]))
        del argv[i : i + 2]
    if not stock:
        Queue.delete_message = delete_message  # type: ignore[method-assign]
        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
        server.DomainDispatcherApplication = SerialisedDynamoDB  # type: ignore[misc]
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
