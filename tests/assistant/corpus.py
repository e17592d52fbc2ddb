"""A small course corpus (two overlapping biology courses) and known-answer questions.

Each question names the passage (item title, position) that answers it; ``worded`` ones
reuse the page's words, ``paraphrased`` ones do not.
"""

BIO101 = {
    "Syllabus": [
        "Biology 101 meets on Tuesdays and Thursdays from 10:00 to 11:15 in Science Hall room 204. "
        "The instructor is Dr. Maria Lopez. Office hours are Wednesdays from 2 to 4 pm in room 310.",
        "The final grade is calculated as follows: lab reports 30 percent, two midterm exams 20 percent each, "
        "and the final exam 30 percent. Attendance is not graded but strongly encouraged.",
        "Late lab reports lose 10 percent per day and are not accepted after five days. "
        "Extensions are granted only for documented emergencies; email the instructor before the deadline.",
        "Academic integrity: copying another student's lab data or text is plagiarism and results in a zero "
        "for the assignment and a report to the Dean of Students.",
    ],
    "Week 3: Photosynthesis": [
        "Photosynthesis converts light energy into chemical energy stored in glucose. It takes place in the "
        "chloroplasts of plant cells, which contain the green pigment chlorophyll.",
        "The light-dependent reactions happen in the thylakoid membranes and produce ATP and NADPH while "
        "splitting water and releasing oxygen as a by-product.",
        "The Calvin cycle runs in the stroma. It uses ATP and NADPH to fix carbon dioxide into three-carbon "
        "sugars; the enzyme RuBisCO catalyses the first step of carbon fixation.",
    ],
    "Week 4: Cellular respiration": [
        "Cellular respiration releases the energy stored in glucose. Glycolysis splits glucose into two "
        "pyruvate molecules in the cytoplasm and yields a small amount of ATP.",
        "The Krebs cycle, also called the citric acid cycle, takes place in the mitochondrial matrix and "
        "produces NADH and FADH2 that carry electrons to the electron transport chain.",
        "Oxidative phosphorylation on the inner mitochondrial membrane produces most of the ATP; oxygen is "
        "the final electron acceptor and is reduced to water.",
    ],
    "Lab 2: Microscope use": [
        "Always carry the microscope with two hands, one on the arm and one under the base. Start focusing "
        "with the lowest power objective and use only the fine focus knob at high magnification.",
        "Clean the lenses only with lens paper, never with tissues or your shirt. Report any damaged "
        "equipment to the teaching assistant immediately.",
    ],
    "Lab report guidelines": [
        "Lab reports are submitted through the Canvas assignment page as a single PDF file by 11:59 pm on the "
        "Sunday after the lab session.",
        "Each report has an introduction, methods, results with labelled figures, and a discussion of at most "
        "two pages. Cite sources in APA style.",
    ],
    "Announcement: Midterm 1": [
        "Midterm exam 1 is on October 14 during the regular class time. It covers weeks 1 to 5. Bring a "
        "pencil and your student ID; calculators are not allowed.",
    ],
}

# A second course whose content overlaps (same topics, different facts).
BIO102 = {
    "Syllabus": [
        "Biology 102 meets on Mondays and Wednesdays from 1:00 to 2:15 in Life Sciences building room 12. "
        "The instructor is Dr. Kenji Watanabe. Office hours are Fridays from 9 to 11 am.",
        "The final grade in Biology 102 is 50 percent projects and 50 percent final exam.",
    ],
    "Week 3: Photosynthesis in C4 plants": [
        "C4 plants such as maize first fix carbon dioxide into four-carbon compounds in mesophyll cells "
        "before passing it to bundle sheath cells, which reduces photorespiration.",
    ],
    "Announcement: Midterm 1": [
        "The Biology 102 midterm is on November 3 in the evening, from 7 to 9 pm, in the main auditorium.",
    ],
}

# (question, kind, item title, passage position)
QUESTIONS = [
    ("When are the office hours?", "worded", "Syllabus", 0),
    ("How is the final grade calculated?", "worded", "Syllabus", 1),
    ("What happens to late lab reports?", "worded", "Syllabus", 2),
    ("Where does the Calvin cycle run?", "worded", "Week 3: Photosynthesis", 2),
    ("What do the light-dependent reactions produce?", "worded", "Week 3: Photosynthesis", 1),
    ("Where does the Krebs cycle take place?", "worded", "Week 4: Cellular respiration", 1),
    ("How should I clean the microscope lenses?", "worded", "Lab 2: Microscope use", 1),
    ("How are lab reports submitted?", "worded", "Lab report guidelines", 0),
    ("When is midterm exam 1?", "worded", "Announcement: Midterm 1", 0),
    ("What is the final electron acceptor in oxidative phosphorylation?", "worded", "Week 4: Cellular respiration", 2),
    ("When can I go see the professor to ask questions?", "paraphrased", "Syllabus", 0),
    ("What percentage of my mark comes from the tests?", "paraphrased", "Syllabus", 1),
    ("What's the penalty if I hand in my report after the due date?", "paraphrased", "Syllabus", 2),
    ("Which enzyme grabs CO2 from the air at the start of sugar building?", "paraphrased", "Week 3: Photosynthesis", 2),
    ("Where in the plant cell does the sun's energy get captured?", "paraphrased", "Week 3: Photosynthesis", 0),
    ("How does the body break down sugar into pyruvate?", "paraphrased", "Week 4: Cellular respiration", 0),
    ("How do I carry the scope safely?", "paraphrased", "Lab 2: Microscope use", 0),
    ("What file format and deadline for handing in experiment write-ups?", "paraphrased", "Lab report guidelines", 0),
    ("Can I use a calculator on the first test?", "paraphrased", "Announcement: Midterm 1", 0),
    ("What is the punishment for cheating?", "paraphrased", "Syllabus", 3),
]
