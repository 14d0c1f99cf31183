"""Root URLconfs that include ``rtropo.urls`` as 0.2's projects did, one prefix each."""
