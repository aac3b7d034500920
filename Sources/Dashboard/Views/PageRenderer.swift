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
        let content = ClockView(page.sorted(order), order: order, asOf: asOf)
        return framed("clock", "Statutory clock", path: "/", asOf: asOf, content)
    }

    /// A request's timeline page.
    package func timeline(_ page: TimelinePage, asOf: AsOf) -> String {
        let id = page.request.requestId
        return framed(
            "timeline",
            "Request \(id)",
            path: "/requests/" + id,
            inNavigation: false,
            asOf: asOf,
            TimelineView(page, asOf: asOf)
        )
    }

    /// The consent page.
    package func consent(_ page: ConsentPage, asOf: AsOf) -> String {
        framed("consent", "Consent", path: "/consent", asOf: asOf, ConsentView(page, asOf: asOf))
    }

    /// The erasures page.
    package func erasures(_ page: ErasuresPage, asOf: AsOf) -> String {
        framed("erasures", "Erasures", path: "/erasures", asOf: asOf, ErasuresView(page, asOf: asOf))
    }

    /// The integrity page.
    package func integrity(_ page: IntegrityPage, asOf: AsOf) -> String {
        framed("integrity", "Integrity", path: "/integrity", asOf: asOf, IntegrityView(page, asOf: asOf))
    }

    /// A page at `path` in the dashboard's frame as of `asOf`, its `content` drawn by `template`;
    /// the navigation marks `path` as the page shown unless `inNavigation` is `false` (a page the
    /// navigation does not list).
    private func framed(
        _ template: String,
        _ title: String,
        path: String,
        inNavigation: Bool = true,
        asOf: AsOf,
        _ content: some Sendable
    ) -> String {
        render(
            template,
            PageFrame(title: title, path: path, asOf: asOf, current: inNavigation ? path : nil, content: content)
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
