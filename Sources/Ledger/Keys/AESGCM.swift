import COpenSSL
import Crypto

/// AES-256-GCM with a 12-byte nonce and a 16-byte tag, as `nonce(12) ‖ ciphertext ‖ tag(16)`: the
/// one cipher of the ledger, for event payloads (``PayloadCipher``) and wrapped subject keys
/// (``KeyStore``). The bytes are those of swift-crypto's `AES.GCM.SealedBox.combined`, and
/// `AESGCMTests` checks each against the other both ways, and against NIST's test vectors.
///
/// Sealed through OpenSSL's libcrypto (Debian's `libssl-dev`) rather than swift-crypto, which the
/// ledger uses for everything else: swift-crypto's `AES.GCM.seal` builds a BoringSSL context
/// object, a sealed box and three buffers on every call and offers no lower-level entry point.
/// Sealing every event's payload through it cost a seventh of an import's CPU (`import` of 200,000
/// events with the seal left out: 0.86× the CPU, 0.82× the time, interleaved pairs; see
/// docs/BENCHMARKS.md). OpenSSL's EVP interface takes the cipher fetched once and writes straight
/// into the caller's buffer; each call still makes its own cipher context, which OpenSSL zeroes
/// when it frees it.
///
/// A failure inside OpenSSL (no AES-256-GCM under the machine's OpenSSL configuration, say, one that
/// allows FIPS providers only) throws `internal`: it is never taken for a box that does not open.
enum AESGCM {
    static let nonceSize = 12
    static let tagSize = 16
    static let keySize = 32
    /// Far above any payload (16 KiB of `data` and a subject) or wrapped key; OpenSSL counts in `int`.
    static let maxLength = 1 << 30

    /// OpenSSL's AES-256-GCM, fetched once from the default provider (thread-safe to share).
    nonisolated(unsafe) private static let cipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    private static func failure(_ step: String) -> LedgerError {
        LedgerError(
            .internal,
            "AES-256-GCM failed inside OpenSSL (\(step)); check that OpenSSL's configuration offers AES-256-GCM"
        )
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext` under `key`, authenticating `associatedData`.
    /// - Throws: ``LedgerError`` `internal` for a key that is not 32 bytes, a nonce that is not 12,
    ///   input over ``maxLength``, or a failure inside OpenSSL (none of them reachable by input).
    static func seal(
        _ plaintext: [UInt8],
        key: SymmetricKey,
        nonce: [UInt8],
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8] {
        guard nonce.count == nonceSize, plaintext.count <= maxLength, associatedData.count <= maxLength else {
            throw LedgerError(.internal, "AES-256-GCM was given a nonce of \(nonce.count) bytes or too long an input")
        }
        guard let cipher else { throw failure("no cipher") }
        let total = nonceSize + plaintext.count + tagSize
        var failed: String? = "no context"
        let combined = try [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            guard let base = out.baseAddress, let context = EVP_CIPHER_CTX_new() else { return }
            defer { EVP_CIPHER_CTX_free(context) }
            _ = UnsafeMutableBufferPointer(rebasing: out[0..<nonceSize]).initialize(from: nonce)
            failed = try key.withUnsafeBytes { keyBytes -> String? in
                guard keyBytes.count == keySize, let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                else { throw LedgerError(.internal, "AES-256-GCM needs a 32-byte key") }
                var written: Int32 = 0
                var finished: Int32 = 0
                guard EVP_EncryptInit_ex2(context, cipher, keyBase, base, nil) == 1 else { return "init" }
                guard EVP_EncryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1,
                    EVP_EncryptUpdate(context, base + nonceSize, &written, plaintext, Int32(plaintext.count)) == 1,
                    EVP_EncryptFinal_ex(context, base + nonceSize + Int(written), &finished) == 1,
                    Int(written + finished) == plaintext.count
                else { return "encrypt" }
                let tag = base + nonceSize + plaintext.count
                guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(tagSize), tag) == 1 else {
                    return "tag"
                }
                return nil
            }
            if failed == nil { initialized = total }
        }
        if let failed { throw failure(failed) }
        return combined
    }

    /// The plaintext of `nonce ‖ ciphertext ‖ tag`, or `nil` when it does not open: too short,
    /// another key, other associated data, or any byte changed. Nothing of a box that does not
    /// open is returned or left in memory (OpenSSL decrypts before it checks the tag: the output
    /// is zeroed then).
    /// - Throws: ``LedgerError`` `internal` for a key that is not 32 bytes, input over
    ///   ``maxLength``, or a failure inside OpenSSL, which is not a verdict on the box.
    static func open(
        _ combined: some Collection<UInt8>,
        key: SymmetricKey,
        authenticating associatedData: [UInt8]
    ) throws -> [UInt8]? {
        let box = Array(combined)
        guard box.count <= maxLength, associatedData.count <= maxLength else {
            throw LedgerError(.internal, "AES-256-GCM was given too long an input")
        }
        guard box.count >= nonceSize + tagSize else { return nil }
        guard let cipher else { throw failure("no cipher") }
        let length = box.count - nonceSize - tagSize
        // Unset when OpenSSL made no context (the message is built only then, off the read path).
        var outcome: Result<Bool, LedgerError>?
        let plaintext = try [UInt8](unsafeUninitializedCapacity: max(length, 1)) { out, initialized in
            guard let target = out.baseAddress, let context = EVP_CIPHER_CTX_new() else { return }
            defer { EVP_CIPHER_CTX_free(context) }
            outcome = try box.withUnsafeBufferPointer { input in
                try key.withUnsafeBytes { keyBytes -> Result<Bool, LedgerError> in
                    guard keyBytes.count == keySize,
                        let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    else { throw LedgerError(.internal, "AES-256-GCM needs a 32-byte key") }
                    guard let base = input.baseAddress else { return .failure(failure("no input")) }
                    var written: Int32 = 0
                    var finished: Int32 = 0
                    // The expected tag is set before the final step, which checks it; OpenSSL only reads it.
                    let tag = UnsafeMutableRawPointer(mutating: base + nonceSize + length)
                    guard EVP_DecryptInit_ex2(context, cipher, keyBase, base, nil) == 1,
                        EVP_DecryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1,
                        EVP_DecryptUpdate(context, target, &written, base + nonceSize, Int32(length)) == 1,
                        EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), tag) == 1
                    else { return .failure(failure("decrypt")) }
                    // The one step whose failure is the box's: the tag does not match.
                    return .success(
                        EVP_DecryptFinal_ex(context, target + Int(written), &finished) == 1
                            && Int(written + finished) == length
                    )
                }
            }
            if case .success(true) = outcome {
                initialized = length
            } else {
                // Decrypted before the tag was checked: unauthenticated, and perhaps a person's data.
                OPENSSL_cleanse(target, out.count)
            }
        }
        guard let outcome else { throw failure("no context") }
        guard try outcome.get() else { return nil }
        return plaintext
    }
}
