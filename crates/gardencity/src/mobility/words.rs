//! Word lists for readable agent ids.

/// Adjectives (distinct).
pub const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "ample", "brave", "bright", "brisk", "calm", "candid", "cheerful", "civil", "clever",
    "cosmic", "crisp", "curious", "dapper", "daring", "deft", "eager", "early", "earnest", "easy", "elated", "elegant",
    "epic", "fair", "faithful", "fancy", "fierce", "fine", "firm", "fluent", "fond", "frank", "free", "fresh",
    "friendly", "frosty", "gentle", "giddy", "glad", "golden", "grand", "great", "green", "happy", "hardy", "hearty",
    "honest", "humble", "icy", "ideal", "jolly", "jovial", "joyful", "keen", "kind", "lively", "loyal", "lucid",
    "lucky", "mellow", "merry", "mighty", "modest", "neat", "nimble", "noble", "odd", "open", "patient", "placid",
    "plucky", "polite", "proud", "quick", "quiet", "rapid", "rare", "ready", "regal", "robust", "rosy", "royal",
    "rustic", "safe", "sage", "serene", "sharp", "shiny", "silent", "silver", "simple", "sleek", "smart", "snowy",
    "solid", "sound", "spry", "stable", "steady", "stoic", "sunny", "super", "swift", "tender", "tidy", "tough",
    "tranquil", "true", "trusty", "upbeat", "urban", "valiant", "vast", "vivid", "warm", "wise", "witty", "young",
    "zany", "zealous", "zesty", "azure", "bold", "breezy", "busy", "cozy", "dandy", "dewy", "dreamy", "dusky",
    "fabled", "feisty", "fluffy", "gallant", "gleaming", "hazy", "hidden", "jaunty", "kindly", "lofty", "lunar",
    "misty", "mossy", "nifty", "noted", "oaken", "pastel", "peppy", "plush", "prime", "quaint", "radiant", "rugged",
    "sandy", "scenic", "snug", "spicy", "starry", "sturdy", "sublime", "tawny", "thrifty", "timely", "vernal", "wary",
    "wild", "windy", "wooden",
];

/// Nouns (distinct).
pub const NOUNS: &[&str] = &[
    "acorn", "badger", "beacon", "birch", "bison", "bluebird", "brook", "canyon", "cedar", "comet", "condor", "coral",
    "cougar", "crane", "creek", "cypress", "dahlia", "delta", "dolphin", "dove", "eagle", "egret", "elm", "ember",
    "falcon", "fern", "finch", "fjord", "flint", "fox", "gazelle", "geyser", "glacier", "granite", "grove", "gull",
    "harbor", "hawk", "hazel", "heron", "hill", "ibis", "iris", "island", "jaguar", "jay", "juniper", "kestrel",
    "koala", "lagoon", "lake", "lark", "laurel", "lemur", "lily", "lynx", "magpie", "maple", "marlin", "meadow",
    "mesa", "mink", "moose", "moss", "newt", "oak", "ocean", "orca", "osprey", "otter", "owl", "panda", "panther",
    "pebble", "pelican", "pine", "plover", "poplar", "prairie", "quail", "quartz", "rabbit", "raven", "reef", "ridge",
    "river", "robin", "sage", "salmon", "sequoia", "shore", "sparrow", "spruce", "stork", "summit", "swan", "thistle",
    "thrush", "tiger", "trout", "tulip", "valley", "violet", "walrus", "willow", "wolf", "wren", "yak", "zebra",
    "anchor", "aspen", "aurora", "bamboo", "basil", "bay", "blossom", "boulder", "breeze", "butte", "cactus", "cairn",
    "cliff", "clover", "cobalt", "crest", "dune", "fable", "fountain", "garnet", "ginger", "harvest", "horizon",
    "jasper", "kelp", "lantern", "lotus", "marble", "mist", "nectar", "nova", "onyx", "opal", "orchid", "paddle",
    "petal", "pond", "quill", "rain", "saffron", "sierra", "spark", "tide", "timber", "topaz", "trail", "tundra",
    "willet", "zephyr",
];
