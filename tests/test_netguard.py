"""The network guard must be able to fail: an outbound attempt is blocked and recorded."""

import socket

import pytest


def test_outbound_connect_is_blocked_and_recorded(netguard_log):
    before = netguard_log.read_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    assert "203.0.113.7" in netguard_log.read_text()
    netguard_log.write_text(before)  # leave the log for the real no-outbound checks


def test_dns_lookup_of_a_remote_name_is_blocked(netguard_log):
    before = netguard_log.read_text()
    with pytest.raises(ConnectionRefusedError):
        socket.getaddrinfo("huggingface.co", 443)
    netguard_log.write_text(before)


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with socket.create_connection(server.getsockname(), timeout=1):
        pass
    server.close()
