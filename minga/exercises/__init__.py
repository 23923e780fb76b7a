"""Cyber drills: scenarios of timed and conditional injects, exercises (runs) delivered into an
exercise space that never mixes with real intelligence, expectations scored automatically or
by evaluators, a control room, and after-action reports with improvement actions."""
