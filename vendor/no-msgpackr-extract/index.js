throw new Error("msgpackr-extract is not installed (stand-in package); msgpackr uses its JavaScript decoder");
