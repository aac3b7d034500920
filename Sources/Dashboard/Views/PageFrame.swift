/// What every page shares, around its own content: the title, the navigation, the as-of form and
/// the line that says which moment the page shows. The `layout` template draws it.
struct PageFrame<Content: Sendable>: Sendable {
    /// A link of the navigation bar.
    struct NavLink: Sendable {
        let href: String
        let label: String
        let current: Bool
    }

    let title: String
    /// The page's path: where the as-of form sends its date.
    let path: String
    /// Whether to show the navigation and the as-of form (error pages before login do not).
    let signedIn: Bool
    let nav: [NavLink]
    /// The date field's value: the as-of date, or empty for now.
    let asOfDate: String
    /// `2025-06-30 23:59 UTC`.
    let asOfText: String
    /// Whether the page shows a past (or future) moment rather than now.
    let historical: Bool
    let content: Content

    /// The frame of a page at `path` showing `content` as of `asOf`.
    init(title: String, path: String, asOf: AsOf, current: String?, content: Content) {
        self.title = title
        self.path = path
        signedIn = true
        nav = [
            ("/", "Statutory clock"), ("/consent", "Consent"), ("/erasures", "Erasures"), ("/integrity", "Integrity"),
        ]
        .map {
            NavLink(href: $0.0 + asOf.query, label: $0.1, current: $0.0 == current)
        }
        asOfDate = asOf.queryValue == nil ? "" : asOf.date
        asOfText = Display.dateTime(asOf.time)
        historical = asOf.queryValue != nil
        self.content = content
    }

    /// The frame of an error page shown to someone not logged in: no navigation, no form.
    init(signedOutTitle title: String, content: Content) {
        self.title = title
        path = "/"
        signedIn = false
        nav = []
        asOfDate = ""
        asOfText = ""
        historical = false
        self.content = content
    }
}

/// The content of an error page: the status, the stable code and what to do.
struct ErrorView: Sendable {
    let status: Int
    let code: String
    let message: String
}
