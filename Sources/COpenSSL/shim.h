/* OpenSSL's libcrypto (Debian's libssl-dev), for AES-256-GCM only: see
 * Sources/Ledger/Keys/AESGCM.swift for why the ledger does not seal through swift-crypto. */
#include <openssl/evp.h>
#include <openssl/crypto.h>
