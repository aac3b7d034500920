// The Projections module: consent state, data-subject requests and purpose counts folded from the
// ledger's events, as of any past time. It reads events only through the Ledger module's API and
// never imports CLMDB. The folds arrive with the projections issue; this file marks the module.
import Ledger
