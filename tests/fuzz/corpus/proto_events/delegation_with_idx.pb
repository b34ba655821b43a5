
xbr-2 j

data/abr-1