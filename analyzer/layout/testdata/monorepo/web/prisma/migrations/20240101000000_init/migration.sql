-- CreateTable
CREATE TABLE "User" ("id" SERIAL NOT NULL);
