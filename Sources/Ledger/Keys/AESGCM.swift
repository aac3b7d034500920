import COpenSSL
import Crypto

/// AES-256-GCM with a 12-byte nonce and a 16-byte tag, as `nonce(12) ‖ ciphertext ‖ tag(16)`: the
/// one cipher of the ledger, for event payloads (``PayloadCipher``) and wrapped subject keys
/// (``KeyStore``). The bytes are those of swift-crypto's `AES.GCM.SealedBox.combined`, and
/// `AESGCMTests` checks each against the other both ways.
///
/// Sealed through OpenSSL's libcrypto (Debian's `libssl-dev`) rather than swift-crypto, which the
/// ledger uses for everything else: swift-crypto's `AES.GCM.seal` builds a BoringSSL context
/// object, a sealed box and three buffers on every call and offers no lower-level entry point.
/// Sealing every event's payload through it cost a seventh of an import's CPU (`import` of 200,000
/// events with the seal left out: 0.86× the CPU, 0.82× the time, interleaved pairs; see
/// docs/BENCHMARKS.md). OpenSSL's EVP interface takes the cipher fetched once and writes straight
/// into the caller's buffer.
enum AESGCM {
    static let nonceSize = 12
    static let tagSize = 16
    static let keySize = 32

    /// OpenSSL's AES-256-GCM, fetched once from the default provider (thread-safe to share).
    nonisolated(unsafe) private static let cipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext` under `key`, authenticating `associatedData`.
    /// - Throws: ``LedgerError`` `internal` for a key that is not 32 bytes, a nonce that is not 12,
    ///   or a failure inside OpenSSL (none of them reachable by input).
    static func seal(
        _ plaintext: [UInt8],
        key: SymmetricKey,
        nonce: [UInt8],
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        guard key.bitCount == keySize * 8, nonce.count == nonceSize else {
            throw LedgerError(.internal, "AES-256-GCM needs a 32-byte key and a 12-byte nonce")
        }
        let total = nonceSize + plaintext.count + tagSize
        var sealed = false
        let combined = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = total
            guard let base = out.baseAddress, let context = EVP_CIPHER_CTX_new() else { return }
            defer { EVP_CIPHER_CTX_free(context) }
            _ = UnsafeMutableBufferPointer(rebasing: out[0..<nonceSize]).initialize(from: nonce)
            sealed = key.withUnsafeBytes { keyBytes in
                var written: Int32 = 0
                var finished: Int32 = 0
                let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                return EVP_EncryptInit_ex2(context, cipher, keyBase, base, nil) == 1
                    && EVP_EncryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1
                    && EVP_EncryptUpdate(context, base + nonceSize, &written, plaintext, Int32(plaintext.count)) == 1
                    && EVP_EncryptFinal_ex(context, base + nonceSize + Int(written), &finished) == 1
                    && Int(written + finished) == plaintext.count
                    && EVP_CIPHER_CTX_ctrl(
                        context,
                        EVP_CTRL_AEAD_GET_TAG,
                        Int32(tagSize),
                        base + nonceSize + plaintext.count
                    ) == 1
            }
        }
        guard sealed else { throw LedgerError(.internal, "AES-256-GCM sealing failed inside OpenSSL") }
        return combined
    }

    /// The plaintext of `nonce ‖ ciphertext ‖ tag`, or `nil` when it does not open: too short,
    /// another key, other associated data, or any byte changed.
    static func open(
        _ combined: some Collection<UInt8>,
        key: SymmetricKey,
        authenticating associatedData: [UInt8]
    ) -> [UInt8]? {
        let box = Array(combined)
        guard key.bitCount == keySize * 8, box.count >= nonceSize + tagSize else { return nil }
        let length = box.count - nonceSize - tagSize
        var opened = false
        let plaintext = [UInt8](unsafeUninitializedCapacity: max(length, 1)) { out, initialized in
            initialized = length
            guard let context = EVP_CIPHER_CTX_new() else { return }
            defer { EVP_CIPHER_CTX_free(context) }
            opened = box.withUnsafeBufferPointer { input in
                key.withUnsafeBytes { keyBytes in
                    guard let base = input.baseAddress, let target = out.baseAddress else { return false }
                    var written: Int32 = 0
                    var finished: Int32 = 0
                    // The expected tag is set before the final step, which checks it.
                    let tag = UnsafeMutableRawPointer(mutating: base + nonceSize + length)
                    let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    return EVP_DecryptInit_ex2(context, cipher, keyBase, base, nil) == 1
                        && EVP_DecryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1
                        && EVP_DecryptUpdate(context, target, &written, base + nonceSize, Int32(length)) == 1
                        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), tag) == 1
                        && EVP_DecryptFinal_ex(context, target + Int(written), &finished) == 1
                        && Int(written + finished) == length
                }
            }
        }
        return opened ? plaintext : nil
    }
}
