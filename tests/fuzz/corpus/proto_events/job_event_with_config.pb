br-1bB
run-1
//sales:daily :

data/a
data/bB

data/a