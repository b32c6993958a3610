print("swapstats")
