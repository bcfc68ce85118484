"""No network, ever: installed into a test venv's site-packages, so every Python process there starts with it.

Every connection, datagram and name lookup that leaves the machine is refused and written to the file named by
``DREAMER_NET_LOG``; loopback (127.0.0.0/8, ::1, localhost) and Unix sockets pass. The test asserts that file
stays empty, so an attempt that a library catches and ignores still fails the test.
"""

import ipaddress
import os
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local(host: object) -> bool:
    """Whether a host (name or address) is this machine's loopback."""
    if not isinstance(host, str):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def refuse(what: str, target: object) -> None:
    """Record the attempt and raise the error a machine without network gives."""
    with open(os.environ.get("DREAMER_NET_LOG", os.devnull), "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {what} {target!r}\n")
    raise OSError(101, f"network is unreachable (blocked by the offline test): {what} {target!r}")


def guarded(method):  # type: ignore[no-untyped-def]
    """Wrap a socket method whose first argument is an address."""

    def wrapper(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address[0]):
            refuse(method.__name__, address)
        return method(self, address, *args)

    return wrapper


def sendto(self, data, *args):
    """Datagrams (``sendto(data[, flags], address)``) through the guard."""
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_local(args[-1][0]):
        refuse("sendto", args[-1])
    return ORIGINAL_SENDTO(self, data, *args)


def getaddrinfo(host, *args, **kwargs):
    """Name lookups of anything but loopback are refused (they would ask a DNS server)."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not is_local(name):
        refuse("getaddrinfo", name)
    return ORIGINAL_GETADDRINFO(host, *args, **kwargs)


ORIGINAL_SENDTO = socket.socket.sendto
ORIGINAL_GETADDRINFO = socket.getaddrinfo
socket.socket.connect = guarded(socket.socket.connect)
socket.socket.connect_ex = guarded(socket.socket.connect_ex)
socket.socket.sendto = sendto
socket.getaddrinfo = getaddrinfo
