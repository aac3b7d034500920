import Ledger
import Mustache

/// Renders the dashboard's pages from their models with the compiled-in templates
/// (``Templates``): the one place HTML is made, always by the template engine, which escapes every
/// value.
package struct PageRenderer: Sendable {
    private let library: MustacheLibrary

    /// Compiles every template.
    /// - Throws: When a template does not parse (a fault of this build, which the tests catch).
    package init() throws {
        var library = MustacheLibrary()
        for (name, text) in Templates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// The statutory clock page, its table in `order`.
    package func clock(_ page: ClockPage, order: ClockPage.Order = .fewestDaysLeftFirst, asOf: AsOf) -> String {
        render(
            "clock",
            PageFrame(
                title: "Statutory clock",
                path: "/",
                asOf: asOf,
                current: "/",
                content: ClockView(page.sorted(order), order: order, asOf: asOf)
            )
        )
    }

    /// A request's timeline page.
    package func timeline(_ page: TimelinePage, asOf: AsOf) -> String {
        let id = page.request.requestId
        return render(
            "timeline",
            PageFrame(
                title: "Request \(id)",
                path: "/requests/" + id,
                asOf: asOf,
                current: nil,
                content: TimelineView(page, asOf: asOf)
            )
        )
    }

    /// The consent page.
    package func consent(_ page: ConsentPage, asOf: AsOf) -> String {
        render(
            "consent",
            PageFrame(
                title: "Consent",
                path: "/consent",
                asOf: asOf,
                current: "/consent",
                content: ConsentView(page, asOf: asOf)
            )
        )
    }

    /// The erasures page.
    package func erasures(_ page: ErasuresPage, asOf: AsOf) -> String {
        render(
            "erasures",
            PageFrame(
                title: "Erasures",
                path: "/erasures",
                asOf: asOf,
                current: "/erasures",
                content: ErasuresView(page, asOf: asOf)
            )
        )
    }

    /// The integrity page.
    package func integrity(_ page: IntegrityPage, asOf: AsOf) -> String {
        render(
            "integrity",
            PageFrame(
                title: "Integrity",
                path: "/integrity",
                asOf: asOf,
                current: "/integrity",
                content: IntegrityView(page, asOf: asOf)
            )
        )
    }

    /// An error page: inside the dashboard's frame when `asOf` is given (the person is logged in),
    /// bare otherwise.
    package func error(_ error: DashboardError, path: String = "/", asOf: AsOf? = nil) -> String {
        let content = ErrorView(status: Int(error.status.code), code: error.code.rawValue, message: error.message)
        let title = error.code == .unauthorized ? "Log in to the dashboard" : error.status.reasonPhrase
        guard let asOf else { return render("error", PageFrame(signedOutTitle: title, content: content)) }
        return render("error", PageFrame(title: title, path: path, asOf: asOf, current: nil, content: content))
    }

    private func render(_ template: String, _ frame: some Sendable) -> String {
        library.render(frame, withTemplate: template) ?? ""
    }
}
