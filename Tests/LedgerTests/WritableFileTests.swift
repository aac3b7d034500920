import Foundation
import Testing

@testable import Ledger

/// Opening a file for writing by name without following a symbolic link there.
struct WritableFileTests {
    /// A link at the name, to an existing file or to nothing, is refused by every disposition that
    /// opens the name as it is: the link stays, its target keeps its bytes and mode, and a dangling
    /// link's target is not created.
    @Test func aLinkAtTheNameIsRefusedAndItsTargetLeftUntouched() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let path = directory.path + "/file"
        let missing = LedgerError(.keyMissing, "missing")
        let dispositions: [(WritableFile.Disposition, String)] = [
            (.openOrCreate, "symbolic link"), (.openExisting(missing: missing), "symbolic link"),
            (.createNew, "cannot create"),
        ]
        for destination in targets.destinations {
            for (disposition, phrase) in dispositions {
                for access in [O_WRONLY, O_RDWR] {
                    try targets.plant(at: path, to: destination)
                    do {
                        let fd = try WritableFile.open(path, disposition, access: access, name: "the file")
                        close(fd)
                        Issue.record("\(disposition) opened a link to \(destination)")
                    } catch let error as LedgerError {
                        #expect(error.code == .ioError && error.message.contains(phrase), "\(error.message)")
                        #expect(error.message.contains("the file \(path)"))
                    }
                    #expect(isLink(path), "the link stays for the operator to see")
                }
            }
        }
        #expect(try targets.untouched())
    }

    /// ``WritableFile/Disposition/replaceLeftover`` removes a link at the name (never its target)
    /// and creates a regular file there instead.
    @Test func aLeftoverLinkIsRemovedAndAFreshFileMade() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let path = directory.path + "/file.tmp"
        for destination in targets.destinations {
            try targets.plant(at: path, to: destination)
            let fd = try WritableFile.open(path, .replaceLeftover, name: "the file")
            #expect(write(fd, "new", 3) == 3)
            close(fd)
            #expect(!isLink(path))
            #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
        }
        #expect(try targets.untouched())
    }

    /// A FIFO at the name is refused at once, never waited on, and neither is a directory opened.
    @Test func aFifoOrADirectoryIsRefusedWithoutWaiting() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/file"
        #expect(mkfifo(path, 0o600) == 0)
        for access in [O_WRONLY, O_RDWR] {
            for disposition in [
                WritableFile.Disposition.openOrCreate, .openExisting(missing: LedgerError(.ioError, "")),
            ] {
                let error = try #require(throws: LedgerError.self) {
                    try WritableFile.open(path, disposition, access: access, name: "the file")
                }
                #expect(error.code == .ioError && error.message.contains("not a regular file"), "\(error.message)")
            }
        }
        #expect(throws: LedgerError.self) { try WritableFile.refuseLink(at: path, name: "the file") }
        unlink(path)
        #expect(mkdir(path, 0o700) == 0)
        #expect(throws: LedgerError.self) {
            try WritableFile.open(path, .openOrCreate, access: O_RDWR, name: "the file")
        }
    }

    /// Regular files: created with the mode given, opened without truncating, reported missing with
    /// the caller's error, and never replaced by ``WritableFile/Disposition/createNew``.
    @Test func aRegularFileIsCreatedOpenedOrReportedMissingAsAsked() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/file"
        let missing = LedgerError(.keyMissing, "missing")
        #expect(
            errorCode { _ = try WritableFile.open(path, .openExisting(missing: missing), name: "f") } == .keyMissing
        )
        var fd = try WritableFile.open(path, .openOrCreate, mode: 0o600, name: "the file")
        #expect(write(fd, "kept", 4) == 4)
        close(fd)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        fd = try WritableFile.open(path, .openOrCreate, access: O_RDWR, name: "the file")
        close(fd)
        fd = try WritableFile.open(path, .openExisting(missing: missing), access: O_RDWR, name: "the file")
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK == 0, "the descriptor blocks")
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        close(fd)
        #expect(errorCode { _ = try WritableFile.open(path, .createNew, name: "the file") } == .ioError)
        #expect(FileManager.default.contents(atPath: path) == Data("kept".utf8), "never truncated")
    }

    /// ``WritableFile/refuseLink(at:name:)``, for the files LMDB opens by name: a link is refused,
    /// a regular file or nothing passes.
    @Test func refuseLinkPassesAFileOrNothingAndRefusesALink() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let path = directory.path + "/data.mdb"
        try WritableFile.refuseLink(at: path, name: "the data file")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try WritableFile.refuseLink(at: path, name: "the data file")
        for destination in targets.destinations {
            try targets.plant(at: path, to: destination)
            let error = try #require(throws: LedgerError.self) { try WritableFile.refuseLink(at: path, name: "f") }
            #expect(error.code == .ioError && error.message.contains("symbolic link"))
        }
        #expect(try targets.untouched())
    }
}
