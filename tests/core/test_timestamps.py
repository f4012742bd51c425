"""RFC 3161 timestamps against a local TSA: asking for a token, checking it, and every way either can fail."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import socket

import pytest

from trainingmgr.core.timestamps import TimestampError, load_certificates, request_token, token_time, verify_token

from tests.tsa_server import LocalPKI, LocalTSA

SEAL = bytes(range(64))  # an Ed25519 signature's worth of bytes
NOON = dt.datetime(2024, 1, 15, 11, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def other_pki() -> LocalPKI:
    """An unrelated CA with a TSA of its own."""
    return LocalPKI("Autre autorité")


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refusal(url: str, **kwargs) -> str:
    with pytest.raises(TimestampError) as caught:
        request_token(SEAL, url, **kwargs)
    return caught.value.message


# --------------------------------------------------------------------------- asking for a token


def test_a_token_from_the_tsa_verifies_with_its_time_and_name(local_tsa):
    local_tsa.clock(NOON)
    token = request_token(SEAL, local_tsa.url)

    check = verify_token(token, SEAL, [local_tsa.ca_pem])
    assert check.ok, check.problem
    assert check.time == NOON and check.time.tzinfo is not None
    assert "CN=Horodatage — Autorité de test" in check.tsa
    assert check.problem == ""
    assert token_time(token) == NOON
    assert local_tsa.requests == 1


def test_the_query_asks_for_sha256_of_the_data_with_a_nonce_and_the_certificate(local_tsa):
    request_token(SEAL, local_tsa.url)
    query = local_tsa.queries[-1]
    assert query["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert query["message_imprint"]["hashed_message"].native == hashlib.sha256(SEAL).digest()
    assert query["nonce"].native is not None
    assert query["cert_req"].native is True


def test_two_queries_carry_different_nonces(local_tsa):
    request_token(SEAL, local_tsa.url)
    request_token(SEAL, local_tsa.url)
    first, second = (query["nonce"].native for query in local_tsa.queries)
    assert first != second


def test_credentials_are_sent_when_given(local_tsa):
    local_tsa.require_login("organisme", "secret")
    assert "vérifiez l'identifiant et le mot de passe" in refusal(local_tsa.url)
    assert request_token(SEAL, local_tsa.url, username="organisme", password="secret")


def test_an_http_error_is_refused(local_tsa):
    local_tsa.fail_with(503)
    assert refusal(local_tsa.url) == ("Le serveur d'horodatage a répondu par une erreur "
                                      f"(127.0.0.1:{local_tsa.url.split(':')[2].split('/')[0]}, HTTP 503).")


def test_a_rejection_is_refused_with_the_tsa_reason(local_tsa):
    local_tsa.reject("politique inconnue")
    assert refusal(local_tsa.url) == ("Le serveur d'horodatage a refusé la demande "
                                      "(statut « rejection » : politique inconnue).")


def test_an_unreachable_server_is_refused():
    message = refusal(f"http://127.0.0.1:{unused_port()}/tsa", timeout=2)
    assert message.startswith("Le serveur d'horodatage est injoignable (127.0.0.1:")


def test_a_server_that_does_not_answer_in_time_is_refused(local_tsa):
    local_tsa.stall(1)
    assert refusal(local_tsa.url, timeout=0.2).startswith("Le serveur d'horodatage ne répond pas (127.0.0.1:")


def test_an_invalid_address_is_refused():
    assert "injoignable (adresse invalide" in refusal("pas une adresse")


def test_a_garbage_answer_is_refused(local_tsa):
    local_tsa.garble()
    assert refusal(local_tsa.url) == ("La réponse du serveur d'horodatage est illisible "
                                      "(ce n'est pas une réponse RFC 3161).")


def test_a_token_over_another_nonce_is_refused(local_tsa):
    local_tsa.wrong_nonce()
    assert "nonce différent" in refusal(local_tsa.url)


def test_the_credentials_never_appear_in_a_message(local_tsa):
    local_tsa.fail_with(500)
    url = local_tsa.url.replace("http://", "http://organisme:secret@") + "?cle=secrete"
    message = refusal(url)
    assert "secret" not in message and "organisme" not in message


# --------------------------------------------------------------------------- checking a token


@pytest.fixture
def token(local_tsa) -> bytes:
    local_tsa.clock(NOON)
    return request_token(SEAL, local_tsa.url)


def test_a_token_checked_against_other_data_names_the_imprint(token, local_tsa):
    check = verify_token(token, SEAL[:-1] + b"\x00", [local_tsa.ca_pem])
    assert not check.ok
    assert check.problem == "l'empreinte horodatée ne correspond pas aux données"
    assert check.time == NOON


@pytest.mark.parametrize("alter, problem", [
    (lambda token: token.replace(b"20240115110000Z", b"20230115110000Z"),
     "signature du jeton invalide (contenu modifié après signature)"),   # backdated genTime
    (lambda token: token[:-1] + bytes([token[-1] ^ 1]), "signature du jeton invalide"),  # the RSA signature
])
def test_an_altered_token_is_refused(token, local_tsa, alter, problem):
    altered = alter(token)
    assert altered != token
    check = verify_token(altered, SEAL, [local_tsa.ca_pem])
    assert (check.ok, check.problem) == (False, problem)


def test_no_altered_byte_makes_verify_raise_or_change_the_time(token, local_tsa):
    for position in range(0, len(token), 5):
        altered = token[:position] + bytes([token[position] ^ 0x41]) + token[position + 1:]
        check = verify_token(altered, SEAL, [local_tsa.ca_pem])
        assert not check.ok or check.time == NOON, position


def test_a_token_from_an_untrusted_tsa_is_refused(token, other_pki):
    check = verify_token(token, SEAL, [other_pki.ca_pem])
    assert (check.ok, check.problem) == (False, "autorité d'horodatage non reconnue")


def test_a_tsa_of_another_ca_is_refused_even_with_a_good_token(local_tsa, other_pki):
    with LocalTSA(other_pki) as stranger:
        token = request_token(SEAL, stranger.url)
    assert verify_token(token, SEAL, [other_pki.ca_pem]).ok
    assert verify_token(token, SEAL, [local_tsa.ca_pem]).problem == "autorité d'horodatage non reconnue"


def test_a_certificate_without_the_timestamping_usage_is_refused():
    pki = LocalPKI("Autorité sans usage", time_stamping=False)
    with LocalTSA(pki) as tsa:
        token = request_token(SEAL, tsa.url)
    problem = "le certificat de l'autorité n'est pas un certificat d'horodatage"
    assert verify_token(token, SEAL, [pki.ca_pem]).problem == problem
    assert verify_token(token, SEAL, [pki.tsa_pem]).problem == problem  # trusted directly: still refused


def test_a_token_stays_valid_after_its_tsa_certificate_expired():
    pki = LocalPKI("Autorité expirée", valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
                   valid_until=dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc))
    with LocalTSA(pki) as tsa:
        tsa.clock(dt.datetime(2021, 6, 1, tzinfo=dt.timezone.utc))
        in_time = request_token(SEAL, tsa.url)
        tsa.clock(NOON)
        too_late = request_token(SEAL, tsa.url)
    assert verify_token(in_time, SEAL, [pki.ca_pem]).ok
    assert verify_token(too_late, SEAL, [pki.ca_pem]).problem == (
        "le certificat de l'autorité d'horodatage n'était pas valide à la date du jeton")


def test_trust_roots_may_be_der_and_several(token, local_tsa, other_pki):
    assert verify_token(token, SEAL, [other_pki.ca_der, local_tsa.ca_der]).ok


@pytest.mark.parametrize("roots, problem", [
    ([], "aucune autorité d'horodatage de confiance n'est configurée"),
    ([b"pas un certificat"], "un certificat des autorités d'horodatage de confiance est illisible"),
])
def test_missing_or_unreadable_trust_roots_are_refused(token, roots, problem):
    assert verify_token(token, SEAL, roots).problem == problem


@pytest.mark.parametrize("garbage", [b"", b"\x30\x03\x02\x01\x01", b"ceci n'est pas un jeton", SEAL])
def test_garbage_is_refused_without_raising(garbage, local_tsa):
    check = verify_token(garbage, SEAL, [local_tsa.ca_pem])
    assert (check.ok, check.time, check.tsa, check.problem) == (False, None, "", "jeton d'horodatage illisible")
    assert token_time(garbage) is None


def test_verify_works_inside_a_running_event_loop(token, local_tsa):
    async def inside():
        return verify_token(token, SEAL, [local_tsa.ca_pem])

    assert asyncio.run(inside()).ok


# --------------------------------------------------------------------------- certificate files


def test_load_certificates_reads_every_certificate_of_a_bundle(tmp_path, local_tsa, other_pki):
    bundle = tmp_path / "tsa-ca.pem"
    bundle.write_bytes(local_tsa.ca_pem + b"\n" + other_pki.ca_pem)
    assert load_certificates(str(bundle)) == [local_tsa.ca_der, other_pki.ca_der]
    assert load_certificates(local_tsa.ca_file) == [local_tsa.ca_der]


def test_load_certificates_reads_a_der_certificate(tmp_path, local_tsa):
    single = tmp_path / "tsa-ca.der"
    single.write_bytes(local_tsa.ca_der)
    assert load_certificates(str(single)) == [local_tsa.ca_der]


@pytest.mark.parametrize("content, message", [
    (None, "est illisible (No such file or directory)."),
    (b"", "ne contient aucun certificat."),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "ne contient aucun certificat."),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "contient un certificat illisible."),
])
def test_load_certificates_refuses_a_bad_file(tmp_path, content, message):
    path = tmp_path / "tsa-ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TimestampError) as caught:
        load_certificates(str(path))
    assert caught.value.message == f"Le fichier des autorités d'horodatage {path} {message}"
