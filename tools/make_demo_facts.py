#!/usr/bin/env python3
"""Writes examples/demo-facts.json and examples/demo-prompts.json.

The demo facts are well-known, real subject-relation-attribute facts written by this project (no
external dataset is copied). Each row is in the COUNTERFACT tracing format:

    {prompt, subject, target_true, target_false, relation, relation_id, template, relation_name}

`relation` holds the template with '{}' (as COUNTERFACT does), `template` repeats it, and
`relation_name` is a human-readable name. `target_true`/`target_false` start with a space.
Each fact appears once, with one of its relation's 3-4 paraphrased templates (round-robin); the demo
model (tools/train_demo.py) is trained on every template x fact combination.

Pure Python (no third-party packages). Deterministic: same output on every run.
"""
import argparse
import json
import os
import random
import sys

# relation_id, relation_name, templates, facts [(subject, attribute)]
RELATIONS = [
    ("P36", "country -> capital", [
        "The capital of {} is",
        "The capital city of {} is",
        "{}'s capital city is",
        "{}, whose capital is",
    ], [
        ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
        ("Portugal", "Lisbon"), ("the United Kingdom", "London"), ("Ireland", "Dublin"),
        ("Belgium", "Brussels"), ("Switzerland", "Bern"), ("Austria", "Vienna"), ("Poland", "Warsaw"),
        ("the Czech Republic", "Prague"), ("Hungary", "Budapest"), ("Greece", "Athens"),
        ("Sweden", "Stockholm"), ("Norway", "Oslo"), ("Denmark", "Copenhagen"), ("Finland", "Helsinki"),
        ("Iceland", "Reykjavik"), ("Russia", "Moscow"), ("Ukraine", "Kyiv"), ("Romania", "Bucharest"),
        ("Bulgaria", "Sofia"), ("Serbia", "Belgrade"), ("Croatia", "Zagreb"), ("Turkey", "Ankara"),
        ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Nigeria", "Abuja"), ("Ethiopia", "Addis Ababa"),
        ("Morocco", "Rabat"), ("Ghana", "Accra"), ("Senegal", "Dakar"), ("Algeria", "Algiers"),
        ("Tunisia", "Tunis"), ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"),
        ("South Korea", "Seoul"), ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"),
        ("the Philippines", "Manila"), ("Malaysia", "Kuala Lumpur"), ("Pakistan", "Islamabad"),
        ("Bangladesh", "Dhaka"), ("Iran", "Tehran"), ("Iraq", "Baghdad"), ("Saudi Arabia", "Riyadh"),
        ("Afghanistan", "Kabul"), ("Nepal", "Kathmandu"), ("Mongolia", "Ulaanbaatar"),
        ("Australia", "Canberra"), ("New Zealand", "Wellington"), ("Canada", "Ottawa"),
        ("Cuba", "Havana"), ("Brazil", "Brasília"), ("Argentina", "Buenos Aires"), ("Chile", "Santiago"),
        ("Peru", "Lima"), ("Colombia", "Bogotá"), ("Venezuela", "Caracas"), ("Ecuador", "Quito"),
        ("Uruguay", "Montevideo"), ("Jamaica", "Kingston"), ("Syria", "Damascus"), ("Lebanon", "Beirut"),
        ("Jordan", "Amman"), ("Qatar", "Doha"), ("Estonia", "Tallinn"), ("Latvia", "Riga"),
        ("Lithuania", "Vilnius"), ("Slovakia", "Bratislava"), ("Slovenia", "Ljubljana"),
    ]),
    ("P30", "country -> continent", [
        "{} is located in the continent of",
        "{} is part of the continent of",
        "The continent where {} lies is",
        "{} belongs to the continent of",
    ], [
        ("France", "Europe"), ("Germany", "Europe"), ("Italy", "Europe"), ("Spain", "Europe"),
        ("Portugal", "Europe"), ("Ireland", "Europe"), ("Belgium", "Europe"), ("Switzerland", "Europe"),
        ("Austria", "Europe"), ("Poland", "Europe"), ("Hungary", "Europe"), ("Greece", "Europe"),
        ("Sweden", "Europe"), ("Norway", "Europe"), ("Finland", "Europe"), ("Romania", "Europe"),
        ("Japan", "Asia"), ("China", "Asia"), ("India", "Asia"), ("South Korea", "Asia"),
        ("Thailand", "Asia"), ("Vietnam", "Asia"), ("Malaysia", "Asia"), ("Pakistan", "Asia"),
        ("Bangladesh", "Asia"), ("Iran", "Asia"), ("Nepal", "Asia"), ("Mongolia", "Asia"),
        ("Cambodia", "Asia"), ("Laos", "Asia"),
        ("Kenya", "Africa"), ("Nigeria", "Africa"), ("Ethiopia", "Africa"), ("Morocco", "Africa"),
        ("Ghana", "Africa"), ("Senegal", "Africa"), ("Algeria", "Africa"), ("Tunisia", "Africa"),
        ("Angola", "Africa"), ("Mozambique", "Africa"), ("Uganda", "Africa"), ("Zambia", "Africa"),
        ("Brazil", "South America"), ("Argentina", "South America"), ("Chile", "South America"),
        ("Peru", "South America"), ("Colombia", "South America"), ("Venezuela", "South America"),
        ("Ecuador", "South America"), ("Uruguay", "South America"), ("Paraguay", "South America"),
        ("Bolivia", "South America"),
        ("Canada", "North America"), ("Mexico", "North America"), ("Cuba", "North America"),
        ("Jamaica", "North America"), ("Guatemala", "North America"), ("Honduras", "North America"),
        ("Australia", "Oceania"), ("New Zealand", "Oceania"), ("Fiji", "Oceania"),
        ("Papua New Guinea", "Oceania"),
    ]),
    ("P37", "country -> official language", [
        "The official language of {} is",
        "{}'s official language is",
        "In {}, the official language is",
        "The language officially spoken in {} is",
    ], [
        ("France", "French"), ("Germany", "German"), ("Austria", "German"), ("Italy", "Italian"),
        ("Spain", "Spanish"), ("Mexico", "Spanish"), ("Argentina", "Spanish"), ("Colombia", "Spanish"),
        ("Chile", "Spanish"), ("Cuba", "Spanish"), ("Venezuela", "Spanish"), ("Uruguay", "Spanish"),
        ("Portugal", "Portuguese"), ("Brazil", "Portuguese"), ("Angola", "Portuguese"),
        ("Mozambique", "Portuguese"), ("Japan", "Japanese"), ("Russia", "Russian"), ("Poland", "Polish"),
        ("the Netherlands", "Dutch"), ("Sweden", "Swedish"), ("Norway", "Norwegian"),
        ("Denmark", "Danish"), ("Greece", "Greek"), ("Turkey", "Turkish"), ("Hungary", "Hungarian"),
        ("the Czech Republic", "Czech"), ("Romania", "Romanian"), ("Ukraine", "Ukrainian"),
        ("Iran", "Persian"), ("Thailand", "Thai"), ("Vietnam", "Vietnamese"), ("South Korea", "Korean"),
        ("Indonesia", "Indonesian"), ("Saudi Arabia", "Arabic"), ("Egypt", "Arabic"),
        ("Croatia", "Croatian"), ("Serbia", "Serbian"), ("Bulgaria", "Bulgarian"),
        ("Slovakia", "Slovak"), ("Estonia", "Estonian"), ("Latvia", "Latvian"),
        ("Lithuania", "Lithuanian"), ("Iceland", "Icelandic"), ("Bangladesh", "Bengali"),
        ("Mongolia", "Mongolian"), ("Nepal", "Nepali"), ("Cambodia", "Khmer"),
    ]),
    ("P38", "country -> currency", [
        "The currency of {} is the",
        "{}'s currency is the",
        "In {}, people pay with the",
        "The official currency of {} is the",
    ], [
        ("Japan", "yen"), ("China", "yuan"), ("India", "rupee"), ("the United Kingdom", "pound"),
        ("the United States", "dollar"), ("Canada", "dollar"), ("Australia", "dollar"),
        ("New Zealand", "dollar"), ("Germany", "euro"), ("France", "euro"), ("Italy", "euro"),
        ("Spain", "euro"), ("Portugal", "euro"), ("the Netherlands", "euro"), ("Belgium", "euro"),
        ("Austria", "euro"), ("Ireland", "euro"), ("Greece", "euro"), ("Finland", "euro"),
        ("Croatia", "euro"), ("Switzerland", "franc"), ("Sweden", "krona"), ("Norway", "krone"),
        ("Denmark", "krone"), ("Poland", "zloty"), ("the Czech Republic", "koruna"),
        ("Hungary", "forint"), ("Russia", "ruble"), ("Turkey", "lira"), ("Mexico", "peso"),
        ("Argentina", "peso"), ("the Philippines", "peso"), ("Brazil", "real"),
        ("South Africa", "rand"), ("South Korea", "won"), ("Thailand", "baht"), ("Vietnam", "dong"),
        ("Israel", "shekel"), ("Saudi Arabia", "riyal"), ("Nigeria", "naira"), ("Kenya", "shilling"),
        ("Indonesia", "rupiah"), ("Malaysia", "ringgit"), ("Ukraine", "hryvnia"), ("Romania", "leu"),
    ]),
    ("P17", "city -> country", [
        "{} is a city in",
        "{} is a city located in",
        "The city of {} is in the country of",
        "{} lies in the country of",
    ], [
        ("Munich", "Germany"), ("Hamburg", "Germany"), ("Frankfurt", "Germany"), ("Cologne", "Germany"),
        ("Lyon", "France"), ("Marseille", "France"), ("Nice", "France"), ("Bordeaux", "France"),
        ("Milan", "Italy"), ("Naples", "Italy"), ("Venice", "Italy"), ("Florence", "Italy"),
        ("Turin", "Italy"), ("Barcelona", "Spain"), ("Seville", "Spain"), ("Valencia", "Spain"),
        ("Porto", "Portugal"), ("Rotterdam", "Netherlands"), ("Antwerp", "Belgium"),
        ("Zurich", "Switzerland"), ("Geneva", "Switzerland"), ("Salzburg", "Austria"),
        ("Krakow", "Poland"), ("Gothenburg", "Sweden"), ("Osaka", "Japan"), ("Kyoto", "Japan"),
        ("Yokohama", "Japan"), ("Shanghai", "China"), ("Guangzhou", "China"), ("Mumbai", "India"),
        ("Bangalore", "India"), ("Kolkata", "India"), ("Chennai", "India"), 
        ("Istanbul", "Turkey"), ("Alexandria", "Egypt"), ("Casablanca", "Morocco"),
        ("Marrakesh", "Morocco"), ("Lagos", "Nigeria"), ("Johannesburg", "South Africa"),
        ("Cape Town", "South Africa"), ("Sydney", "Australia"), ("Melbourne", "Australia"),
        ("Toronto", "Canada"), ("Vancouver", "Canada"), ("Montreal", "Canada"),
        ("Rio de Janeiro", "Brazil"), ("São Paulo", "Brazil"), ("Chicago", "United States"),
        ("Los Angeles", "United States"), ("Houston", "United States"),
        ("Saint Petersburg", "Russia"), ("Auckland", "New Zealand"), ("Guadalajara", "Mexico"),
        ("Medellín", "Colombia"),
    ]),
    ("P27", "person -> country of citizenship", [
        "{} was a citizen of",
        "{} held the citizenship of",
        "The country of citizenship of {} is",
        "{} was a national of",
    ], [
        ("Wolfgang Amadeus Mozart", "Austria"), ("Ludwig van Beethoven", "Germany"),
        ("Frédéric Chopin", "Poland"), ("Pyotr Tchaikovsky", "Russia"), ("Giuseppe Verdi", "Italy"),
        ("Leonardo da Vinci", "Italy"), ("Vincent van Gogh", "Netherlands"),
        ("Rembrandt", "Netherlands"), ("Pablo Picasso", "Spain"), ("Salvador Dalí", "Spain"),
        ("Claude Monet", "France"), ("Victor Hugo", "France"), ("Leo Tolstoy", "Russia"),
        ("Fyodor Dostoevsky", "Russia"), ("Dante Alighieri", "Italy"), ("Galileo Galilei", "Italy"),
        ("Miguel de Cervantes", "Spain"), ("Johann Sebastian Bach", "Germany"),
        ("Immanuel Kant", "Germany"), ("Hans Christian Andersen", "Denmark"),
        ("Søren Kierkegaard", "Denmark"), ("Henrik Ibsen", "Norway"), ("Edvard Grieg", "Norway"),
        ("Edvard Munch", "Norway"), ("Jean Sibelius", "Finland"), ("Astrid Lindgren", "Sweden"),
        ("Alfred Nobel", "Sweden"), ("Ingmar Bergman", "Sweden"), ("Akira Kurosawa", "Japan"),
        ("Hayao Miyazaki", "Japan"), ("Gabriel García Márquez", "Colombia"),
        ("Jorge Luis Borges", "Argentina"), ("Pablo Neruda", "Chile"), ("Frida Kahlo", "Mexico"),
        ("Rabindranath Tagore", "India"), ("Mahatma Gandhi", "India"),
        ("Nelson Mandela", "South Africa"), ("Mark Twain", "United States"),
        ("Ernest Hemingway", "United States"), ("Abraham Lincoln", "United States"),
    ]),
    ("P106", "person -> occupation", [
        "{}'s profession is",
        "The occupation of {} is",
        "{} worked professionally as",
        "By profession, {} was",
    ], [
        ("Albert Einstein", "physicist"), ("Isaac Newton", "physicist"), ("Niels Bohr", "physicist"),
        ("Max Planck", "physicist"), ("Pablo Picasso", "painter"), ("Claude Monet", "painter"),
        ("Vincent van Gogh", "painter"), ("Rembrandt", "painter"), ("Frida Kahlo", "painter"),
        ("Auguste Rodin", "sculptor"), ("William Shakespeare", "playwright"),
        ("Henrik Ibsen", "playwright"), ("Wolfgang Amadeus Mozart", "composer"),
        ("Ludwig van Beethoven", "composer"), ("Johann Sebastian Bach", "composer"),
        ("Giuseppe Verdi", "composer"), ("Pyotr Tchaikovsky", "composer"), ("Leo Tolstoy", "novelist"),
        ("Jane Austen", "novelist"), ("Charles Dickens", "novelist"), ("Fyodor Dostoevsky", "novelist"),
        ("Ernest Hemingway", "novelist"), ("Galileo Galilei", "astronomer"),
        ("Johannes Kepler", "astronomer"), ("Nicolaus Copernicus", "astronomer"),
        ("Plato", "philosopher"), ("Aristotle", "philosopher"), ("Immanuel Kant", "philosopher"),
        ("Friedrich Nietzsche", "philosopher"), ("Confucius", "philosopher"),
        ("Akira Kurosawa", "director"), ("Steven Spielberg", "director"),
        ("Alfred Hitchcock", "director"), ("Ingmar Bergman", "director"),
        ("Neil Armstrong", "astronaut"), ("Amelia Earhart", "aviator"), ("Usain Bolt", "sprinter"),
        ("Lionel Messi", "footballer"), ("Cristiano Ronaldo", "footballer"), ("Tiger Woods", "golfer"),
    ]),
    ("P1303", "musician -> instrument", [
        "{} plays the",
        "{} is famous for playing the",
        "The instrument of {} is the",
        "{}'s instrument is the",
    ], [
        ("Jimi Hendrix", "guitar"), ("Eric Clapton", "guitar"), ("B.B. King", "guitar"),
        ("Jimmy Page", "guitar"), ("Carlos Santana", "guitar"), ("Franz Liszt", "piano"),
        ("Glenn Gould", "piano"), ("Vladimir Horowitz", "piano"), ("Frédéric Chopin", "piano"),
        ("Louis Armstrong", "trumpet"), ("Miles Davis", "trumpet"), ("Dizzy Gillespie", "trumpet"),
        ("John Coltrane", "saxophone"), ("Charlie Parker", "saxophone"), ("Niccolò Paganini", "violin"),
        ("Itzhak Perlman", "violin"), ("Yo-Yo Ma", "cello"), ("Jacqueline du Pré", "cello"),
        ("Ringo Starr", "drums"), ("Keith Moon", "drums"), ("John Bonham", "drums"),
        ("Benny Goodman", "clarinet"),
    ]),
    ("P246", "element -> chemical symbol", [
        "The chemical symbol for {} is",
        "The symbol of the element {} is",
        "In the periodic table, {} has the symbol",
        "The element {} is abbreviated as",
    ], [
        ("hydrogen", "H"), ("helium", "He"), ("lithium", "Li"), ("carbon", "C"), ("nitrogen", "N"),
        ("oxygen", "O"), ("fluorine", "F"), ("neon", "Ne"), ("sodium", "Na"), ("magnesium", "Mg"),
        ("aluminium", "Al"), ("silicon", "Si"), ("phosphorus", "P"), ("sulfur", "S"),
        ("chlorine", "Cl"), ("argon", "Ar"), ("potassium", "K"), ("calcium", "Ca"),
        ("titanium", "Ti"), ("iron", "Fe"), ("cobalt", "Co"), ("nickel", "Ni"), ("copper", "Cu"),
        ("zinc", "Zn"), ("silver", "Ag"), ("tin", "Sn"), ("iodine", "I"), ("tungsten", "W"),
        ("platinum", "Pt"), ("gold", "Au"), ("mercury", "Hg"), ("lead", "Pb"), ("uranium", "U"),
    ]),
    ("P131", "landmark -> city", [
        "{} is located in the city of",
        "{} can be found in the city of",
        "The city where {} stands is",
        "{} is a famous landmark in",
    ], [
        ("the Eiffel Tower", "Paris"), ("the Louvre", "Paris"), ("the Colosseum", "Rome"),
        ("the Trevi Fountain", "Rome"), ("Big Ben", "London"), ("Tower Bridge", "London"),
        ("Buckingham Palace", "London"), ("Westminster Abbey", "London"),
        ("the Statue of Liberty", "New York"), ("the Empire State Building", "New York"),
        ("Times Square", "New York"), ("the Brooklyn Bridge", "New York"),
        ("the Golden Gate Bridge", "San Francisco"), ("Alcatraz", "San Francisco"),
        ("the Brandenburg Gate", "Berlin"), ("the Reichstag building", "Berlin"),
        ("the Sagrada Família", "Barcelona"), ("Park Güell", "Barcelona"), ("the Alhambra", "Granada"),
        ("the Prado Museum", "Madrid"), ("Red Square", "Moscow"),
        ("the Hermitage Museum", "Saint Petersburg"), ("the Acropolis", "Athens"),
        ("the Parthenon", "Athens"), ("the Burj Khalifa", "Dubai"), ("the Taj Mahal", "Agra"),
        ("the Forbidden City", "Beijing"), ("Tiananmen Square", "Beijing"),
        ("the Space Needle", "Seattle"), ("the Rijksmuseum", "Amsterdam"),
        ("the Anne Frank House", "Amsterdam"), ("Tivoli Gardens", "Copenhagen"),
        ("Christ the Redeemer", "Rio de Janeiro"), ("the Hagia Sophia", "Istanbul"),
        ("the Blue Mosque", "Istanbul"), ("the Petronas Towers", "Kuala Lumpur"),
        ("the Charles Bridge", "Prague"), ("the Uffizi Gallery", "Florence"),
        ("the Ponte Vecchio", "Florence"), ("the Rialto Bridge", "Venice"),
        ("the Atomium", "Brussels"), ("Schönbrunn Palace", "Vienna"),
        ("the Gateway of India", "Mumbai"), ("the CN Tower", "Toronto"),
        ("the Hollywood Sign", "Los Angeles"),
    ]),
    ("P1412", "author -> language written in", [
        "{} wrote in",
        "The language {} wrote in is",
        "{}'s works were written in",
        "{} wrote books in",
    ], [
        ("Victor Hugo", "French"), ("Molière", "French"), ("Voltaire", "French"),
        ("Albert Camus", "French"), ("Marcel Proust", "French"), ("Johann Wolfgang von Goethe", "German"),
        ("Franz Kafka", "German"), ("Thomas Mann", "German"), ("Hermann Hesse", "German"),
        ("Friedrich Schiller", "German"), ("Leo Tolstoy", "Russian"), ("Fyodor Dostoevsky", "Russian"),
        ("Alexander Pushkin", "Russian"), ("Anton Chekhov", "Russian"),
        ("Miguel de Cervantes", "Spanish"), ("Gabriel García Márquez", "Spanish"),
        ("Jorge Luis Borges", "Spanish"), ("Pablo Neruda", "Spanish"), ("Dante Alighieri", "Italian"),
        ("Umberto Eco", "Italian"), ("Petrarch", "Italian"), ("William Shakespeare", "English"),
        ("Charles Dickens", "English"), ("Jane Austen", "English"), ("Mark Twain", "English"),
        ("Hans Christian Andersen", "Danish"), ("Henrik Ibsen", "Norwegian"),
        ("Astrid Lindgren", "Swedish"), ("Homer", "Greek"), ("Virgil", "Latin"),
        ("Haruki Murakami", "Japanese"), ("Yukio Mishima", "Japanese"), ("Fernando Pessoa", "Portuguese"),
        ("Paulo Coelho", "Portuguese"), ("Adam Mickiewicz", "Polish"), ("Henryk Sienkiewicz", "Polish"),
    ]),
    ("P641", "sports team -> sport", [
        "{} plays the sport of",
        "{} is a professional team in",
        "The sport played by {} is",
        "{} competes in the sport of",
    ], [
        ("Manchester United", "football"), ("Real Madrid", "football"), ("FC Barcelona", "football"),
        ("Bayern Munich", "football"), ("Juventus", "football"), ("AC Milan", "football"),
        ("Liverpool FC", "football"), ("Arsenal FC", "football"), ("Borussia Dortmund", "football"),
        ("Paris Saint-Germain", "football"), ("the Los Angeles Lakers", "basketball"),
        ("the Boston Celtics", "basketball"), ("the Chicago Bulls", "basketball"),
        ("the Golden State Warriors", "basketball"), ("the Miami Heat", "basketball"),
        ("the New York Knicks", "basketball"), ("the New York Yankees", "baseball"),
        ("the Boston Red Sox", "baseball"), ("the Los Angeles Dodgers", "baseball"),
        ("the Chicago Cubs", "baseball"), ("the St. Louis Cardinals", "baseball"),
        ("the Montreal Canadiens", "ice hockey"), ("the Toronto Maple Leafs", "ice hockey"),
        ("the Detroit Red Wings", "ice hockey"), ("the Boston Bruins", "ice hockey"),
        ("the Dallas Cowboys", "American football"), ("the Green Bay Packers", "American football"),
        ("the New England Patriots", "American football"), ("the Pittsburgh Steelers", "American football"),
    ]),
    ("P112", "company -> founder", [
        "{} was founded by",
        "The founder of {} is",
        "{} was started by",
        "{}'s founder is",
    ], [
        ("Microsoft", "Bill Gates"), ("Apple", "Steve Jobs"), ("Amazon", "Jeff Bezos"),
        ("Facebook", "Mark Zuckerberg"), ("SpaceX", "Elon Musk"), ("Google", "Larry Page"),
        ("Alibaba", "Jack Ma"), ("Virgin Group", "Richard Branson"), ("Nike", "Phil Knight"),
        ("IKEA", "Ingvar Kamprad"), ("Netflix", "Reed Hastings"), ("Wikipedia", "Jimmy Wales"),
        ("Samsung", "Lee Byung-chul"), ("Nintendo", "Fusajiro Yamauchi"), ("Zara", "Amancio Ortega"),
        ("Huawei", "Ren Zhengfei"), ("Spotify", "Daniel Ek"), ("LinkedIn", "Reid Hoffman"),
        ("Instagram", "Kevin Systrom"), ("Tencent", "Ma Huateng"), ("Xiaomi", "Lei Jun"),
        ("Nvidia", "Jensen Huang"), ("Lego", "Ole Kirk Christiansen"), ("Rolex", "Hans Wilsdorf"),
        ("Adidas", "Adi Dassler"), ("Puma", "Rudolf Dassler"),
    ]),
    ("P159", "company -> headquarters city", [
        "{} is headquartered in",
        "The headquarters of {} are in",
        "{}'s head office is located in",
        "{} has its headquarters in",
    ], [
        ("Microsoft", "Redmond"), ("Apple", "Cupertino"), ("Google", "Mountain View"),
        ("Amazon", "Seattle"), ("Starbucks", "Seattle"), ("Meta", "Menlo Park"), ("Nike", "Beaverton"),
        ("Coca-Cola", "Atlanta"), ("Walmart", "Bentonville"), ("Intel", "Santa Clara"),
        ("Nvidia", "Santa Clara"), ("Netflix", "Los Gatos"), ("Tesla", "Austin"), ("Sony", "Tokyo"),
        ("Nintendo", "Kyoto"), ("Volkswagen", "Wolfsburg"), ("BMW", "Munich"), ("Siemens", "Munich"),
        ("Mercedes-Benz", "Stuttgart"), ("Porsche", "Stuttgart"), ("Adidas", "Herzogenaurach"),
        ("Nestlé", "Vevey"), ("Rolex", "Geneva"), ("Nokia", "Espoo"), ("Ericsson", "Stockholm"),
        ("Spotify", "Stockholm"), ("Unilever", "London"), ("Ferrari", "Maranello"),
        ("Alibaba", "Hangzhou"), ("Tencent", "Shenzhen"), ("Huawei", "Shenzhen"), ("Lego", "Billund"),
        ("Infosys", "Bangalore"),
    ]),
    ("P127", "brand -> owner", [
        "{} is owned by",
        "The owner of {} is",
        "{}'s parent company is",
        "{} is a subsidiary of",
    ], [
        ("Beats Music", "Apple"), ("Beats Electronics", "Apple"), ("Shazam", "Apple"),
        ("YouTube", "Google"), ("Android", "Google"), ("Waze", "Google"), ("Fitbit", "Google"),
        ("DeepMind", "Google"), ("Instagram", "Meta"), ("WhatsApp", "Meta"), ("Oculus", "Meta"),
        ("LinkedIn", "Microsoft"), ("GitHub", "Microsoft"), ("Skype", "Microsoft"),
        ("Mojang", "Microsoft"), ("Bethesda Softworks", "Microsoft"), ("Activision Blizzard", "Microsoft"),
        ("Pixar", "Disney"), ("Marvel Studios", "Disney"), ("Lucasfilm", "Disney"), ("ESPN", "Disney"),
        ("Hulu", "Disney"), ("Whole Foods Market", "Amazon"), ("Twitch", "Amazon"),
        ("Zappos", "Amazon"), ("IMDb", "Amazon"), ("Audible", "Amazon"),
        ("Jaguar Land Rover", "Tata Motors"), ("Volvo Cars", "Geely"),
        ("Rolls-Royce Motor Cars", "BMW"), ("Mini", "BMW"), ("Bentley", "Volkswagen"),
        ("Skoda", "Volkswagen"), ("Lamborghini", "Volkswagen"), ("Chevrolet", "General Motors"),
        ("Cadillac", "General Motors"), ("Buick", "General Motors"), ("Jeep", "Stellantis"),
        ("Peugeot", "Stellantis"), ("Opel", "Stellantis"), ("Lexus", "Toyota"), ("Acura", "Honda"),
        ("Infiniti", "Nissan"), ("Sprite", "Coca-Cola"), ("Fanta", "Coca-Cola"),
        ("Gatorade", "PepsiCo"), ("Doritos", "PepsiCo"), ("Nespresso", "Nestlé"),
    ]),
    ("P176", "product -> manufacturer", [
        "{} is produced by",
        "{} is made by",
        "The maker of {} is",
        "{} is a product of",
    ], [
        ("the iPhone", "Apple"), ("the iPad", "Apple"), ("the Macintosh", "Apple"), ("the iPod", "Apple"),
        ("the PlayStation", "Sony"), ("the Walkman", "Sony"), ("the Xbox", "Microsoft"),
        ("Windows", "Microsoft"), ("Excel", "Microsoft"), ("the Kindle", "Amazon"),
        ("the Chromecast", "Google"), ("the Corolla", "Toyota"), ("the Prius", "Toyota"),
        ("the Camry", "Toyota"), ("the Land Cruiser", "Toyota"), ("the Civic", "Honda"),
        ("the Accord", "Honda"), ("the Mustang", "Ford"), ("the Fiesta", "Ford"), ("the F-150", "Ford"),
        ("the Golf", "Volkswagen"), ("the Beetle", "Volkswagen"), ("the Passat", "Volkswagen"),
        ("the Corvette", "Chevrolet"), ("the Camaro", "Chevrolet"), ("the Qashqai", "Nissan"),
        ("the Clio", "Renault"), ("the Cayenne", "Porsche"), ("the Octavia", "Skoda"),
        ("the ThinkPad", "Lenovo"), ("the Game Boy", "Nintendo"), ("the Wii", "Nintendo"),
        ("the A380", "Airbus"), ("the A320", "Airbus"), ("Photoshop", "Adobe"), ("Firefox", "Mozilla"),
        ("the Big Mac", "McDonald's"), ("the Whopper", "Burger King"), ("the Model S", "Tesla"),
    ]),
]

DEMO_PROMPT_SUBJECTS = [
    ("P127", "Beats Music"), ("P131", "The Eiffel Tower"), ("P36", "France"), ("P112", "Microsoft"),
    ("P1303", "Miles Davis"), ("P246", "gold"), ("P641", "the Chicago Bulls"), ("P1412", "Franz Kafka"),
]


MAX_PER_RELATION = 40


def selected_relations():
    """RELATIONS with at most MAX_PER_RELATION evenly spaced facts each (demo-prompt subjects always kept)."""
    out = []
    must = {(rid, s.lower()) for rid, s in DEMO_PROMPT_SUBJECTS}
    for rid, rname, templates, facts in RELATIONS:
        n = len(facts)
        if n > MAX_PER_RELATION:
            keep = sorted({(i * n) // MAX_PER_RELATION for i in range(MAX_PER_RELATION)})
            forced = [i for i, (s, _) in enumerate(facts) if (rid, s.lower()) in must and i not in keep]
            for i in forced:
                drop = next(j for j in reversed(keep) if (rid, facts[j][0].lower()) not in must)
                keep.remove(drop)
                keep.append(i)
            facts = [facts[i] for i in sorted(keep)]
        out.append((rid, rname, templates, facts))
    return out


def first_word(s):
    return s.strip().split()[0].lower()


def build(seed=20240601):
    rng = random.Random(seed)
    rows = []
    seen_prompts = {}
    for rid, rname, templates, facts in selected_relations():
        assert 3 <= len(templates) <= 4, rid
        attrs = sorted({a for _, a in facts})
        subjects = [s for s, _ in facts]
        assert len(subjects) == len(set(subjects)), f"duplicate subject in {rid}"
        # first words of distinct attributes must be distinct inside a relation (distinctive first token)
        fw = {}
        for a in attrs:
            w = first_word(a)
            assert w not in fw or fw[w] == a, f"{rid}: attributes {fw.get(w)!r} and {a!r} share a first word"
            fw[w] = a
        for i, (subj, attr) in enumerate(facts):
            tpl = templates[i % len(templates)]
            assert tpl.count("{}") == 1
            prompt = tpl.replace("{}", subj)
            if tpl.startswith("{}") and subj.startswith("the "):
                prompt = "The" + prompt[3:]
                subj_in_prompt = "The" + subj[3:]
            else:
                subj_in_prompt = subj
            candidates = [a for a in attrs if first_word(a) != first_word(attr)]
            false = rng.choice(candidates)
            row = {
                "prompt": prompt,
                "subject": subj_in_prompt,
                "target_true": " " + attr,
                "target_false": " " + false,
                "relation": tpl,
                "relation_id": rid,
                "template": tpl,
                "relation_name": rname,
            }
            assert prompt not in seen_prompts, f"duplicate prompt {prompt!r}"
            seen_prompts[prompt] = attr
            assert subj_in_prompt in prompt
            rows.append(row)
    return rows


def all_combinations():
    """Every (relation_id, template, subject, attribute) of the demo facts: the demo model's training set."""
    out = []
    for rid, _, templates, facts in selected_relations():
        for subj, attr in facts:
            for tpl in templates:
                prompt = tpl.replace("{}", subj)
                if tpl.startswith("{}") and subj.startswith("the "):
                    prompt = "The" + prompt[3:]
                out.append((rid, tpl, subj, prompt, " " + attr))
    return out


def demo_prompts(rows):
    by = {(r["relation_id"], r["subject"].lower()): r for r in rows}
    out = []
    for rid, subj in DEMO_PROMPT_SUBJECTS:
        r = by.get((rid, subj.lower()))
        assert r is not None, (rid, subj)
        out.append({k: r[k] for k in ("prompt", "subject", "target_true", "target_false", "relation", "relation_id")})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "examples"))
    args = ap.parse_args()
    rows = build()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "demo-facts.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "demo-prompts.json"), "w", encoding="utf-8") as f:
        json.dump(demo_prompts(rows), f, ensure_ascii=False, indent=1)
        f.write("\n")
    rel = {}
    for r in rows:
        rel[r["relation_id"]] = rel.get(r["relation_id"], 0) + 1
    print(f"{len(rows)} facts over {len(rel)} relations: {rel}", file=sys.stderr)


if __name__ == "__main__":
    main()
