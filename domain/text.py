"""Text normalisation shared by search and answer matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+")
_stemmer = snowballstemmer.stemmer("english")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t d ll m re ve y tell me know pls please whats hows whos
    wat wot r u ur plz thx whos wheres whens whys theres im ive dont doesnt didnt isnt wasnt arent cant wont
    """.split()
)


def fold(text: str) -> str:
    """Lower-case, strip accents and map every non-alphanumeric run to one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(ascii_only))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Folded words, stopwords kept (search titles need them less than questions do)."""
    return fold(text).split()


def terms(text: str) -> list[str]:
    """Folded, stemmed content words: the unit both search and matching compare."""
    return [stem(w) for w in fold(text).split() if w not in STOPWORDS]


# Chat filler that carries no meaning in a follow-up question. Kept apart from STOPWORDS so that
# search keeps its own behaviour; answer matching drops both.
QUESTION_FILLER = frozenset(
    """
    really actually exactly basically like just also even anyway anymore ok okay hey hi
    guys thing things stuff something anything lot lots kind sort bit
    whole happening going gonna wanna get got go goes went gone us yet ever many much come comes came people
    """.split()
)

# Related-term groups: common English question vocabulary and general news vocabulary whose members a
# reader uses interchangeably ("what does X want" ~ "X's demands"). Matching treats two words as related
# when their stems share a group. Groups are deliberately broad, not tuned to particular stored questions.
# fmt: off
RELATED_TERMS: tuple[tuple[str, ...], ...] = (
    ("want", "wants", "demand", "demands", "goal", "goals", "aim", "aims", "seek", "seeks", "wish",
     "condition", "conditions", "terms", "require", "insist", "objective", "position", "positions", "stance",
     "ask", "asks"),
    ("swap", "swaps", "exchange", "exchanges", "release", "handover", "trade-off"),
    ("prisoner", "prisoners", "pow", "pows", "captive", "captives", "hostage", "hostages", "detainee",
     "detainees"),
    ("mediate", "mediating", "mediator", "mediation", "broker", "brokered", "host", "hosted", "facilitate",
     "intermediary", "go-between", "middleman", "arbitrate", "negotiator"),
    ("matter", "matters", "implication", "implications", "significance", "significant", "impact", "effect",
     "effects", "affect", "affects", "consequence", "consequences", "mean", "means", "importance",
     "important", "influence", "deal", "shape", "hurt", "ruin", "change"),
    ("role", "part", "involve", "involved", "involvement", "play", "say", "influence"),
    ("reason", "reasons", "cause", "caused", "causes", "trigger", "triggered", "spark", "sparked", "behind",
     "blame", "because", "due", "drive", "drove", "driven", "explain", "start", "started", "lead", "led"),
    ("begin", "began", "start", "started", "origin", "origins", "root", "roots", "beginning", "first"),
    ("challenge", "challenges", "obstacle", "obstacles", "problem", "problems", "difficulty", "difficult",
     "hurdle", "barrier", "stop", "stopping", "prevent", "block", "hinder", "issue", "issues", "hard",
     "stuck"),
    ("ceasefire", "truce", "armistice", "peace", "halt"),
    ("war", "conflict", "fighting", "fight", "hostility", "hostilities", "clash", "combat", "battle"),
    ("agree", "agreed", "agreement", "deal", "accord", "accords", "pact", "treaty", "settle", "settlement"),
    ("precedent", "precedents", "historical", "history", "past", "previous", "earlier", "example",
     "examples", "similar", "before", "worked"),
    ("public", "people", "citizen", "citizens", "opinion", "opinions", "mood", "sentiment",
     "ordinary", "voter", "voters", "popular"),
    ("media", "press", "coverage", "news", "tv", "television", "journalist", "journalists", "outlet",
     "outlets", "propaganda", "bias", "biased", "framing", "narrative", "newspaper", "reporting", "covering"),
    ("drone", "drones", "uav", "strike", "strikes", "attack", "attacks", "raid", "raids", "missile",
     "missiles", "airstrike", "bombing", "shelling"),
    ("die", "died", "dies", "dead", "death", "deaths", "kill", "killed", "fatal", "fatality", "fatalities",
     "casualty", "casualties", "toll", "victim", "victims", "lives"),
    ("injury", "injuries", "injured", "hurt", "wound", "wounded", "harm", "harmed", "torn"),
    ("win", "won", "wins", "winner", "winners", "champion", "champions", "championship", "title", "victory",
     "victor", "beat", "triumph", "ring", "crown"),
    ("lose", "lost", "loss", "losses", "defeat", "defeated", "beaten", "loser", "losers"),
    ("score", "scoreline", "result", "results", "sets", "points"),
    ("cost", "costs", "price", "prices", "pay", "paid", "fund", "funded", "funding", "money", "spend",
     "spending", "dollars", "pounds", "euros", "expensive", "cheap", "afford", "finance", "financed",
     "grant", "grants", "billion", "trillion", "budget"),
    ("earn", "earned", "prize", "cheque", "check", "purse", "winnings", "paycheck", "reward"),
    ("loan", "loans", "mortgage", "mortgages", "credit", "borrowing", "borrow", "interest"),
    ("debt", "deficit", "borrowing", "ceiling", "limit"),
    ("cut", "cuts", "reduce", "reduced", "reduction", "lower", "lowered", "decrease", "slash", "trim",
     "cheaper", "shrink", "shrinking", "down", "less", "losers"),
    ("raise", "raises", "rise", "rising", "increase", "increases", "hike", "hikes", "higher", "boost",
     "grow", "growth", "climb", "gain", "gains", "more", "extra", "up", "rally", "rallied"),
    ("next", "future", "upcoming", "soon", "later", "ahead", "coming", "then", "after"),
    ("now", "current", "currently", "today", "present", "latest", "still"),
    ("wait", "waiting", "pause", "paused", "hold", "holds", "held", "unchanged", "steady", "keep", "kept", "delay",
     "delayed", "patience", "cautious"),
    ("date", "time", "schedule", "deadline", "timeline", "timing", "when", "apply", "effect"),
    ("happen", "happened", "happens", "outcome", "occur", "occurred", "unfold", "step", "steps"),
    ("main", "point", "points", "summary", "summarize", "summarise", "tldr", "overview", "gist", "key",
     "highlights", "recap", "takeaway", "takeaways", "provision", "provisions", "contain", "contains",
     "include", "includes", "details"),
    ("safe", "safety", "protect", "protection", "precaution", "precautions", "advice", "tip", "tips",
     "avoid", "careful", "guidance", "recommend"),
    ("danger", "dangerous", "serious", "severe", "harmful", "risk", "risks", "risky", "deadly", "threat",
     "worry", "worried", "concern", "concerns", "bad", "safe", "wrong", "unhealthy", "health"),
    ("effective", "effectiveness", "efficacy", "work", "works", "protect", "protects", "protection"),
    ("symptom", "symptoms", "sign", "signs", "rash", "fever", "recognize", "recognise", "spot", "look"),
    ("vaccine", "vaccines", "vaccinate", "vaccinated", "vaccination", "shot", "shots", "jab", "immunize",
     "immunise", "mmr", "dose", "doses"),
    ("child", "children", "kid", "kids", "baby", "babies", "infant", "toddler", "son", "daughter"),
    ("parent", "parents", "mom", "dad", "mother", "father", "family", "families"),
    ("treat", "treatment", "therapy", "therapies", "cure", "cured", "heal", "medicine", "drug", "drugs",
     "medication", "fix"),
    ("healthy", "health", "recover", "recovered", "recovery", "well", "better", "fine", "okay", "ok", "doing", "cure", "cured", "alive"),
    ("big", "large", "size", "tall", "height", "huge", "massive", "extent", "area", "acres", "hectares",
     "scale"),
    ("old", "age", "aged", "young", "born", "birthday"),
    ("long", "duration", "last", "lasted", "take", "took", "months", "weeks", "days", "hours", "fast",
     "quick", "quickly", "speed"),
    ("where", "location", "region", "regions", "country", "countries", "city", "cities", "place", "places",
     "province", "provinces", "state", "states", "county", "areas", "worst"),
    ("government", "governments", "authority", "authorities", "official", "officials", "minister",
     "ministry", "administration", "leader", "leaders", "politician", "politicians", "department",
     "departments"),
    ("respond", "response", "react", "reacted", "reaction", "reply", "measures", "action", "actions",
     "doing", "take"),
    ("market", "markets", "stock", "stocks", "share", "shares", "equity", "equities", "wall", "index",
     "investor", "investors", "trader", "traders", "s&p"),
    ("expensive", "overvalued", "valuation", "valuations", "pricey", "bubble", "overpriced", "stretched"),
    ("crash", "crashed", "selloff", "sell-off", "plunge", "plunged", "tumble", "tumbled", "slump", "slide",
     "fall", "fell", "drop", "dropped", "decline", "collapse", "bottom", "low", "lowest"),
    ("recover", "recovered", "recovery", "rebound", "rebounded", "bounce", "comeback", "rally", "record",
     "high", "surge"),
    ("invest", "investment", "investor", "portfolio", "savings", "retirement", "401k", "pension", "pensions",
     "buy", "sell", "strategy", "advice", "hold"),
    ("president", "trump", "biden", "white", "administration"),
    ("forecast", "forecasts", "projection", "projections", "outlook", "predict", "prediction", "expect",
     "expected", "expectations", "estimate", "estimates", "prospect", "prospects"),
    ("tax", "taxes", "taxation", "deduction", "deductions", "levy", "irs"),
    ("tariff", "tariffs", "duties", "import", "imports", "trade"),
    ("insurance", "coverage", "insured", "uninsured", "healthcare", "medicaid", "medicare"),
    ("vote", "votes", "voted", "ballot", "ballots", "elect", "elected", "election", "tally", "count",
     "choose", "chose", "chosen", "select", "pick", "conclave"),
    ("oppose", "opposed", "against", "object", "objected", "reject", "rejected", "critic", "critics",
     "criticism", "criticisms", "criticise", "criticize", "hate", "dislike", "opposition", "complain", "no"),
    ("support", "supports", "back", "backing", "favour", "favor", "praise", "welcome", "help", "aid",
     "assistance", "weapons"),
    ("law", "laws", "rule", "rules", "regulation", "regulations", "act", "legislation", "bill", "statute"),
    ("obligation", "obligations", "duty", "duties", "must", "need", "comply", "compliance", "requirement",
     "requirements", "require", "requires"),
    ("penalty", "penalties", "fine", "fines", "fined", "punish", "punishment", "sanction", "sanctions",
     "enforcement", "enforce"),
    ("company", "companies", "firm", "firms", "business", "businesses", "provider", "providers", "developer",
     "developers", "maker", "makers", "corporation"),
    ("sign", "signed", "signatory", "signatories", "join", "joined", "commit", "committed", "endorse"),
    ("refuse", "refused", "decline", "declined", "reject", "rejected", "boycott"),
    ("user", "users", "me", "consumer", "consumers", "individual", "ordinary", "everyday", "personally"),
    ("home", "homes", "house", "houses", "housing", "dwelling", "council", "apartment", "rent", "rented",
     "residential"),
    ("hospital", "hospitals", "nhs", "healthcare", "clinic", "clinics", "doctor", "doctors"),
    ("evacuate", "evacuated", "evacuation", "evacuations", "flee", "fled", "displaced", "displacement",
     "relocate", "leave"),
    ("smoke", "haze", "hazy", "air", "pollution", "aqi", "breathe", "breathing", "mask", "masks", "n95"),
    ("fire", "fires", "wildfire", "wildfires", "blaze", "blazes", "burn", "burned", "burnt", "burning"),
    ("climate", "warming", "greenhouse", "emission", "emissions", "carbon", "global"),
    ("heat", "hot", "temperature", "temperatures", "degrees", "warm", "scorching", "celsius", "fahrenheit",
     "heatwave"),
    ("relief", "ease", "subside", "end", "over", "finish", "pass", "cool", "cooler", "storms"),
    ("close", "closed", "shut", "shutdown", "cancel", "cancelled", "canceled", "closure", "closures"),
    ("school", "schools", "class", "classes", "education", "pupils", "students"),
    ("rocket", "rockets", "ship", "spacecraft", "vehicle", "booster", "boosters", "stage"),
    ("explode", "exploded", "explosion", "blew", "fail", "failed", "failure", "broke", "malfunction",
     "mishap", "anomaly", "wrong", "leak", "leaks"),
    ("reuse", "reused", "reusable", "reusing", "again", "flown", "recycle", "recycled", "second"),
    ("moon", "lunar", "artemis", "nasa", "astronaut", "astronauts"),
    ("crew", "crewed", "onboard", "aboard", "passenger", "passengers", "board", "astronauts"),
    ("regulator", "regulators", "faa", "aviation", "agency", "investigation", "probe", "inquiry"),
    ("launch", "launches", "flight", "flights", "fly", "liftoff", "mission", "missions", "test"),
    ("gene", "genes", "genetic", "dna", "crispr", "edit", "editing", "edited", "mutation", "base"),
    ("disease", "diseases", "condition", "conditions", "illness", "disorder", "disorders", "sick", "ill",
     "syndrome", "wrong"),
    ("develop", "developed", "development", "make", "made", "build", "built", "create", "created", "design",
     "designed", "roster", "assemble"),
    ("other", "others", "another", "additional", "patients", "everyone", "anyone"),
    ("name", "names", "named", "called", "call"),
    ("liberal", "progressive", "conservative", "traditional", "traditionalist", "moderate", "reformer",
     "orthodox", "left", "right", "centrist"),
    ("nationality", "citizen", "citizenship", "american", "from", "hometown", "native"),
    ("player", "players", "star", "athlete", "mvp", "best", "award", "valuable"),
    ("team", "teams", "roster", "squad", "lineup", "franchise", "club"),
    ("watch", "watched", "viewer", "viewers", "viewership", "audience", "ratings", "rating", "tv"),
    ("doping", "steroid", "steroids", "banned", "ban", "suspension", "suspended", "cheat", "cheating",
     "positive"),
    ("women", "womens", "woman", "ladies", "female", "girls"),
    ("men", "mens", "man", "male", "gentlemen"),
    ("slam", "slams", "major", "majors", "titles"),
    ("nuclear", "nuke", "nukes", "atomic", "warhead", "warheads"),
    ("water", "waters", "river", "rivers", "indus", "dam", "dams"),
    ("resume", "resumed", "restart", "continue", "continued", "holding", "hold", "still", "violation",
     "violations", "broken", "collapse"),
    ("territory", "territorial", "land", "border", "borders", "concession", "concessions", "annex", "annexed"),
    ("sovereignty", "sovereign", "independence", "independent"),
    ("evolve", "evolved", "evolution", "develop", "progress", "changed", "years", "timeline", "history"),
    ("help", "helps", "helped", "benefit", "benefits", "useful", "advantage", "advantages", "good"),
    ("good", "great", "strong", "successful", "success", "best", "better"),
    ("bad", "poor", "weak", "worse", "worst", "failure"),
    ("new", "latest", "recent", "recently", "fresh"),
    ("say", "said", "says", "comment", "comments", "statement", "announce", "announced", "claim", "claims",
     "told", "remarks", "respond"),
    ("plan", "plans", "proposal", "proposals", "propose", "proposed", "intend", "programme", "program", "scheme"),
    ("compare", "comparison", "versus", "vs", "difference", "different", "differ", "similar"),
    ("true", "real", "fact", "facts", "accurate", "confirmed", "confirm", "verify", "fake", "false", "rumor",
     "rumour"),
    ("legal", "illegal", "lawful", "court", "courts", "judge", "lawsuit", "sue", "sued"),
    ("job", "jobs", "employment", "unemployment", "labor", "labour", "hiring", "layoffs", "workers", "worker",
     "employee", "employees", "staff"),
    ("inflation", "prices", "price", "cpi", "costlier"),
    ("economy", "economic", "gdp", "recession", "growth"),
    ("energy", "power", "electricity", "grid", "gas", "oil", "fuel", "nuclear"),
    ("spread", "spreading", "spreads", "contagious", "transmit", "transmission", "catch", "infect",
     "infection", "infections", "infected", "cases", "case"),
    ("military", "army", "troops", "soldiers", "soldier", "forces", "defence", "defense", "armed"),
    ("international", "foreign", "abroad", "allies", "ally", "western", "west", "external",
     "nations", "countries", "world"),
    ("america", "american", "americans", "washington", "usa"),
    ("europe", "european", "eu", "brussels"),
    ("russia", "russian", "russians", "moscow", "kremlin", "putin"),
    ("ukraine", "ukrainian", "ukrainians", "kyiv", "zelensky", "zelenskyy"),
    ("technology", "tech", "chip", "chips", "semiconductor", "semiconductors", "software"),
    ("ai", "artificial", "intelligence", "chatbot", "chatbots", "chatgpt", "model", "models", "llm", "llms"),
    ("game", "games", "match", "matches", "series"),
    ("coach", "manager", "trainer"),
    ("fan", "fans", "supporters", "crowd", "crowds"),
    ("scientist", "scientists", "researcher", "researchers", "expert", "experts", "study", "studies",
     "research", "analyst", "analysts", "economist", "economists", "observers"),
    ("chance", "chances", "likely", "likelihood", "probability", "odds", "possible", "possibility", "prospect"),
    ("permanent", "lasting", "forever", "durable", "temporary"),
    ("solution", "solutions", "solve", "resolve", "resolution", "fix", "answer"),
    ("immigration", "immigrant", "immigrants", "migrant", "migrants", "asylum", "deportation", "border"),
    ("food", "snap", "stamps", "nutrition", "hunger", "groceries"),
    ("poor", "low-income", "poverty", "needy", "vulnerable"),
    ("rich", "wealthy", "millionaires", "billionaires", "richest"),
    ("senior", "seniors", "elderly", "older", "pensioner", "pensioners", "retiree", "retirees", "grandma",
     "grandpa", "grandparents", "65"),
    ("party", "parties", "republican", "republicans", "democrat", "democrats", "gop", "conservatives", "labour"),
    ("congress", "senate", "house", "parliament", "lawmakers", "legislators", "senators", "mps"),
    ("approve", "approved", "approval", "pass", "passed", "clear", "cleared", "authorize", "authorise",
     "greenlight"),
    ("veto", "block", "blocked", "halt", "stop"),
    ("trial", "trials", "testing", "experiment", "experimental"),
    ("reach", "reaches", "arrive", "travel", "drift", "drifted", "spread"),
    ("hospitalized", "hospitalised", "admitted", "admissions", "hospital"),
    ("announce", "unveil", "unveiled", "publish", "published", "release", "released"),
    ("protest", "protests", "demonstration", "demonstrations", "march"),
    ("anyone", "anybody", "someone", "somebody", "everyone", "everybody", "nobody"),
    ("dispute", "disputed", "disputes", "contested", "claim", "claims", "rival", "rivalry", "conflict"),
    ("arson", "arsonist", "lightning", "ignite", "ignited", "ignition", "deliberate", "deliberately",
     "accidental", "accident", "sparked", "cause", "caused"),
    ("win", "won", "wins", "lose", "lost", "loses", "beat", "beaten", "defeat", "defeated", "outcome"),
    ("lead", "leading", "led", "leads", "ahead", "top", "dominant", "dominate", "dominated"),
    ("outside", "outdoors", "outdoor"),
    ("january", "february", "april", "june", "july", "august", "september", "october",
     "november", "december", "month", "date", "week"),
    ("land", "forest", "forests", "woodland", "woods", "trees", "acres", "hectares", "area"),
    ("portray", "portrays", "portrayal", "depict", "depicts", "describe", "describes", "frame", "framed",
     "framing", "cover", "covering", "coverage", "report", "reporting", "spin"),
    ("number", "count", "total", "figure", "figures", "amount", "tally", "toll", "many", "much", "quantity"),
    ("person", "who", "whom", "people"),
)
# fmt: on

_CONCEPTS: dict[str, frozenset[int]] = {}


def related_groups(word_stem: str) -> frozenset[int]:
    """Indexes of the RELATED_TERMS groups a stemmed word belongs to (empty when none)."""
    if not _CONCEPTS:
        table: dict[str, set[int]] = {}
        for index, group in enumerate(RELATED_TERMS):
            for member in group:
                for piece in fold(member).split():
                    table.setdefault(stem(piece), set()).add(index)
        _CONCEPTS.update({key: frozenset(value) for key, value in table.items()})
    return _CONCEPTS.get(word_stem, frozenset())


def related_vocabulary() -> frozenset[str]:
    """Every folded word of RELATED_TERMS: known English that typo correction may map a misspelling onto."""
    return frozenset(piece for group in RELATED_TERMS for member in group for piece in fold(member).split())
