/// The bundled purpose catalogue (SPEC §9), made from the seed policy (Personvernerklæring,
/// Activepeople AS; a copy is `Tests/Fixtures/personvernerklaering.txt`). `ledgerctl init`
/// without `--policy` loads it, and `ledgerctl catalogue --bundled` prints it as a starting point
/// for an edited catalogue.
extension Catalogue {
    /// The bundled catalogue's YAML text.
    public static let bundledSource: String = #"""
        # The bundled purpose catalogue: the processing activities of the seed policy
        # (Personvernerklæring, Activepeople AS og Activepeople Norway AS).
        # Each consent purpose has one notice, version policy-v1, whose text is the policy
        # paragraph that describes the purpose, verbatim.
        version: 1
        controller:
          name: "Activepeople AS og Activepeople Norway AS"
          contact: "post@activepeople.no, +47 48245000, Bark Silas’ vei 5, 4876 Grimstad"
          jurisdiction: NO
          language: nb
          withdrawalMethod: "Bruk avmeldingslenken i nyhetsbrevet, eller skriv til post@activepeople.no; skriftlige krav besvares kostnadsfritt innen 30 dager. / Use the unsubscribe link in the newsletter, or write to post@activepeople.no; written requests are answered free of charge within 30 days."
          storageLocations:
            - "Egne servere driftet av nettsideleverandøren (Responspartner AS), med kryptert backup i datasenteret der serveren står og i en speilet server i et annet datasenter. / The website supplier's own servers (Responspartner AS), with encrypted backups in the server's data centre and on a mirrored server in another data centre."
            - "E-posttjenester, IT-tjenester og lagring av data hos Østereng IT AS. / E-mail, IT services and data storage at Østereng IT AS."
        requestDeadlineDays: 30
        extensionLimitDays: 60
        purposes:
          - id: newsletter
            title:
              nb: "Nyhetsbrev"
              en: "Newsletter"
            basis: consent
            processors:
              - "Responspartner AS"
            retention: "E-postadressen slettes når du sier opp abonnementet. / The e-mail address is deleted when you unsubscribe."
            notices:
              - version: policy-v1
                text: "Activepeople sender av og til ut nyhetsbrev via e-post. For at vi skal kunne sende e-post må du registrere en e-postadresse. E-postadressen lagres i en egen database, deles ikke med andre og slettes når du sier opp abonnementet."
          - id: web-analytics
            title:
              nb: "Nettstatistikk (Google Analytics)"
              en: "Web analytics (Google Analytics)"
            basis: consent
            processors:
              - "Google (Google Analytics)"
              - "Responspartner AS"
            retention: "Informasjonskapslene slettes etter 90 dager; statistikken er avidentifisert og aggregert. / Cookies are deleted after 90 days; statistics are de-identified and aggregated."
            consentTTLDays: 90
            notices:
              - version: policy-v1
                text: "Activepeople samler inn avidentifiserte opplysninger om besøkende på våre hjemmesider. Formålet med dette er å utarbeide statistikk som vi bruker til å forbedre og videreutvikle informasjonstilbudet på nettstedet, forbedre kunders opplevelser og tilby bedre løsninger i fremtiden. Eksempler på hva statistikken gir svar på, er hvor mange som besøker ulike sider, hvor lenge besøket varer, hvilke nettsteder brukerne kommer fra og hvilke nettlesere som benyttes."
          - id: facebook-pixel
            title:
              nb: "Facebook-piksel"
              en: "Facebook pixel"
            basis: consent
            processors:
              - "Meta Platforms (Facebook)"
            retention: "Data samlet inn av pikselen behandles av Facebook etter Facebooks vilkår. / Data collected by the pixel is processed by Facebook under its own terms."
            notices:
              - version: policy-v1
                text: "Activepeople har en aktiv tilstedeværelse på flere sosiale medier (primært på Facebook per dags dato). Facebook er den største og mest aktive av våre sosiale kanaler. For å bedre samspillet mellom Facebook og Activepeople har vi installert Facebooks «pixel» – et script som måler trafikk på tvers av Facebooks grensesnitt og våre nettsider. Vi bruker dataen som samles inn av pixelen til å levere spesialtilpasset innhold til dem som besøker våre nettsider, og til markedsføring på Facebook. For mer informasjon om personvern rundt Facebook, kan du gå hit: https://www.facebook.com/policies/cookies/"
          - id: ads-remarketing
            title:
              nb: "Google AdWords-sporing og remarketing"
              en: "Google AdWords tracking and remarketing"
            basis: consent
            processors:
              - "Google (Google AdWords)"
            retention: "Brukes til å måle effekten av og skreddersy markedsføring. / Used to measure and tailor marketing."
            notices:
              - version: policy-v1
                text: "Vi benytter også i blant Google AdWords sporings- og Remarketingkode for å måle effekten og skreddersy vår markedsføring. Denne kan også brukes til målrettet reklame."
          - id: orders-quotes
            title:
              nb: "Bestilling og forespørsler"
              en: "Orders and quote requests"
            basis: contract
            processors:
              - "Responspartner AS"
            retention: "Etter at svaret er sendt beholdes informasjonen kun for å dokumentere hva som er svart til hvem. / After the answer is sent, kept only to document what was answered to whom."
          - id: customer-accounting
            title:
              nb: "Opplysninger om kunder i forbindelse med regnskap"
              en: "Customer records for accounting"
            basis: legal_obligation
            processors:
              - "DI Visma"
              - "Agder Økonomi AS"
            retention: "Lagres og oppbevares etter Norsk Regnskaps Standard. / Kept as Norwegian accounting standards require."
          - id: courses
            title:
              nb: "Kurspåmelding og møtelokaler"
              en: "Course sign-up and meeting-room booking"
            basis: contract
            processors:
              - "Samarbeidspartnere og arrangementssted ved behov / partners and venues when needed"
            retention: "Lagres til bruk for kursadministrasjon og for å ta inn kursavgift. / Kept for course administration and to collect the course fee."
          - id: surveys
            title:
              nb: "Deltagelse i spørreundersøkelse"
              en: "Survey participation"
            basis: consent
            processors:
              - "QuestBack AS"
            retention: "Anonymiseres før resultater deles med bestiller; slettes etter gjeldende sletterutiner. / Anonymised before results are shared; deleted under the applicable deletion routines."
            notices:
              - version: policy-v1
                text: "Dersom du blir bedt om å delta i en undersøkelse i Activepeople sin regi vil du, idet undersøkelsen skal startes, bli bedt om å gi ditt samtykke. I samtykket vil det spesifiseres hvilke personopplysninger som blir lagret om deg. Informasjon i slike undersøkelser anonymiseres før resultater deles med bestiller. Innhentet informasjon vil bli slettet etter gjeldende sletterutiner. Vi benytter QuestBack AS som underleverandør til våre spørreundersøkelser. De garanterer for sikker lagring av dine personopplysninger."
          - id: job-applicants
            title:
              nb: "Saksbehandling av jobbsøkere"
              en: "Processing of job applicants"
            basis: contract
            processors:
              - "WebCruiter AS"
            retention: "Søkeren har selv tilgang til sine opplysninger og kan når som helst slette seg fra systemet. / Applicants can see their data and delete themselves at any time."
          - id: personality-tests
            title:
              nb: "Personlighetstester i søkeprosesser"
              en: "Personality tests in recruitment"
            basis: consent
            processors:
              - "Cubiks AS"
            retention: "Slettes når søkeprosessen er avsluttet i henhold til gjeldende sletterutiner hos Cubiks AS. / Deleted when the recruitment process ends, under Cubiks AS deletion routines."
            notices:
              - version: policy-v1
                text: "I enkelte søkeprosesser vil vi bruke Cubiks AS som underleverandør for ulike personlighetstester. Personopplysninger som navn og e-postadresse vil bli lagret og benyttet for å kontakte søkeren for å innhente relevante opplysninger. Innhentet informasjon vil bli slettet når søkeprosessen er avsluttet ihht gjeldende sletterutiner hos Cubiks AS."
          - id: employees-payroll
            title:
              nb: "Opplysninger om ansatte (lønn og personal)"
              en: "Employee records (payroll and HR)"
            basis: legal_obligation
            processors:
              - "Tidsbanken AS"
              - "Agder Økonomi AS"
            retention: "Sletterutiner følger regnskapsloven og arkivloven. / Deletion follows the Accounting Act and the Archives Act."
        """#

    /// The bundled catalogue, parsed.
    /// - Throws: Never in practice; a test pins that the bundled text parses.
    public static func bundled() throws -> Catalogue { try parse(bundledSource) }
}
