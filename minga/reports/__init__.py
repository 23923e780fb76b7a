"""Reports shared by incidents, exercises, assessments and advisories: HTML rendered to PDF."""
